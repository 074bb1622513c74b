"""The torch port of dlib's face ResNet: reading dlib's file, and equal outputs."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from clusterer import models
from clusterer.faces.encoder import DlibEncoder, TorchEncoder, make_encoder, read_dlib_resnet
from clusterer.errors import ModelNotFound
from clusterer.faces.analyzer import FaceAnalyzer


def test_reads_the_whole_network():
    convs, affines, fc = read_dlib_resnet(str(models.model_path("encoder")))
    assert len(convs) == len(affines) == 29
    assert convs[0][0].shape == (32, 3, 7, 7) and convs[0][2:] == (2, 0)
    assert convs[-1][0].shape == (256, 256, 3, 3)
    assert fc.shape == (256, 128)
    # every strided convolution is unpadded, every other one "same"-padded
    assert all(p == (0 if s == 2 else 1) for _, _, s, p in convs[1:])


def test_rejects_a_file_that_is_not_the_face_network(tmp_path):
    bad = tmp_path / "x.dat"
    bad.write_bytes(models.model_path("landmarks_5").read_bytes())
    with pytest.raises(ModelNotFound, match="not dlib's face recognition ResNet"):
        read_dlib_resnet(str(bad))


def test_batch_equals_dlib_face_by_face(hopper_bgr, astronaut_bgr):
    """Several faces from two images in one batch: each equals dlib's own
    descriptor, so batching mixes nothing between faces."""
    import dlib

    predictor = models.load("landmarks_5")
    an = FaceAnalyzer(min_face=40)  # the portraits' faces are 100–200 px; smaller scales cost 10x and find none
    chips, want = [], []
    for bgr in (hopper_bgr, astronaut_bgr, cv2.flip(hopper_bgr, 1)):
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        for box, _ in an.detect(rgb):
            shape = predictor(rgb, dlib.rectangle(*box))
            want.append(DlibEncoder().encode(rgb, [shape])[0])
            chips.append(TorchEncoder("cpu").chips(rgb, [shape])[0])
    assert len(chips) >= 3
    got = TorchEncoder("cpu").encode_chips(np.stack(chips))
    assert got.dtype == np.float64 and got.shape == (len(chips), 128)
    assert np.abs(got - np.array(want)).max() < 1e-5
    # different faces stay different: the flipped portrait is not the original
    assert np.linalg.norm(got[0] - got[-1]) > 0.05


def test_no_faces_no_work():
    assert TorchEncoder("cpu").encode(np.zeros((10, 10, 3), np.uint8), []).shape == (0, 128)
    assert DlibEncoder().encode(np.zeros((10, 10, 3), np.uint8), []).shape == (0, 128)


def test_unknown_encoder_named():
    with pytest.raises(ValueError, match="encoder must be"):
        make_encoder("onnx")


def test_models_load_on_first_use_only(hopper_bgr):
    """Building the encoder and the clothing CNN costs nothing until they are
    used, so a run can start its face searches before torch is even loaded."""
    from clusterer.clothing.embedders import CNNEmbedder

    enc, emb = TorchEncoder("auto"), CNNEmbedder(device="auto")
    assert enc._net is None and emb.model is None
    emb.embed([hopper_bgr[:100, :100]])
    enc.encode_chips(np.zeros((1, 150, 150, 3), np.uint8))
    assert enc._net is not None and emb.model is not None
    assert enc.device == emb.device == "cpu"  # 'auto' resolved at first use (no GPU here)


def test_faces_mode_with_dlib_models_never_imports_torch(demo_video, tmp_path):
    """torch is needed only by MTCNN, the torch encoder and clothing: a
    faces-only run with dlib's detector and encoder does not pay its import."""
    import subprocess
    import sys

    code = ("import sys; from clusterer import run; "
            f"run({str(demo_video)!r}, out={str(tmp_path)!r}, mode='faces', encoder='dlib', detector='hog', end=3.0); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_cuda_without_a_gpu_is_refused_before_any_work(demo_video, tmp_path, capsys):
    import torch

    from clusterer.cli import main

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert main([str(demo_video), "--out", str(tmp_path / "o"), "--device", "cuda", "-q"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no CUDA GPU" in err[0]
    assert not (tmp_path / "o" / "demo" / "clusters.json").exists()


def test_the_landmark_model_is_one_instance_for_every_thread_and_the_hog_detector_one_each(hopper_bgr):
    """dlib documents its shape_predictor as safe to share between threads, so
    a run's threads use one (no copy each to unpickle as the run starts);
    the HOG detector, which keeps scratch state, stays one per thread. Many
    threads at once place the landmarks as one thread does."""
    import threading

    import dlib

    rgb = np.ascontiguousarray(cv2.cvtColor(hopper_bgr, cv2.COLOR_BGR2RGB))
    box = dlib.rectangle(170, 90, 330, 250)
    want = [(p.x, p.y) for p in models.load("landmarks_5")(rgb, box).parts()]
    got: dict[int, tuple] = {}

    def work(k: int) -> None:
        pts = [[(p.x, p.y) for p in models.load("landmarks_5")(rgb, box).parts()] for _ in range(50)]
        got[k] = (models.load("landmarks_5"), models.load("hog_detector"), pts)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(g[0]) for g in got.values()} | {id(models.load("landmarks_5"))}) == 1
    assert len({id(g[1]) for g in got.values()}) == 3
    assert all(p == want for g in got.values() for p in g[2])
