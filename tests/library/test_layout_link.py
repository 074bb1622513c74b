"""The library's layout join: a brief person whose faces lie as near two
people joins the one wearing the same clothes in the same framing in another
video; what a unit keeps of its layouts, and units.npz with and without them."""
from __future__ import annotations

import json

import numpy as np
import pytest

from clusterer.library import ops, store
from clusterer.library.clothes import join_by_layout
from clusterer.library.link import link

RNG = np.random.default_rng(3)


def _unit_vector(v):
    return (v / np.linalg.norm(v)).astype(np.float32)


LX, LY, LZ = (_unit_vector(RNG.normal(size=27)) for _ in range(3))


def _faces(z_from_x: float = 0.45, z_from_y: float = 0.47) -> np.ndarray:
    """X at 0, Y 0.8 away, Z at the given distances from both (brief, between them)."""
    x = np.zeros((3, 128))
    x[1, 0] = 0.8
    a = (z_from_x ** 2 - z_from_y ** 2 + 0.64) / 1.6
    x[2, 0], x[2, 1] = a, np.sqrt(z_from_x ** 2 - a ** 2)
    return x


def _link(x, lay_z, *, videos=("a", "b", "c"), lay_y=LY, faces=(30, 30, 5), names=(None, None, None), **kw):
    layouts = [(np.stack([LX, LZ]), np.array([3.0, 1.0])), (lay_y[None], np.array([2.0])),
               (lay_z[None], np.array([1.0]))]
    return link(x, np.array(faces), [frozenset()] * 3, list(names), videos=list(videos), layouts=layouts, **kw)


def _near(v, eps=0.002):
    return _unit_vector(v + eps * RNG.normal(size=27))


def test_a_brief_person_joins_the_one_in_the_same_clothes_in_another_video():
    x = _faces()
    joined: set[int] = set()
    same = _link(x, _near(LX), layout_joined=joined)
    assert same[2] == same[0] != same[1]
    assert joined == {2}  # reported, for library.json and the page
    joined.clear()
    off = _link(x, _near(LX), layout_threshold=0.0, layout_joined=joined)
    assert len(set(off.tolist())) == 3 and not joined  # by faces alone: 0.45 against 0.47, no clear nearest
    other = _link(x, _unit_vector(RNG.normal(size=27)))
    assert len(set(other.tolist())) == 3


def test_the_layout_join_needs_another_video_a_clear_nearest_and_near_faces():
    x = _faces()
    own_video = _link(x, _near(LX), videos=("a", "b", "a"))
    assert own_video[2] != own_video[0]  # the video's own run had its say
    both = _link(x, _near(LX), lay_y=_near(LX))
    assert len(set(both.tolist())) == 3  # X and Y in like clothes: no clear nearest
    far = _link(_faces(0.62, 0.75), _near(LX))
    assert far[2] != far[0]  # faces beyond 0.6: clothes alone never join
    named = _link(x, _near(LX), names=("ann", None, "bob"))
    assert named[2] != named[0]


@pytest.mark.parametrize("faces, joined", [(5, True), (29, True), (30, False)])
def test_only_a_person_of_fewer_faces_than_the_bound_moves_by_layout(faces, joined):
    layouts = [(LX[None], np.ones(1)), (LY[None], np.ones(1)), (_near(LX)[None], np.ones(1))]
    out = join_by_layout(np.arange(3), _faces(), np.array([40, 40, faces]), [frozenset()] * 3, layouts,
                         ["a", "b", "c"], 0.04, max_faces=30)
    assert bool(out[2] == out[0]) is joined and out[1] == 1


def test_a_unit_keeps_its_largest_tracks_layouts_and_what_each_stands_for():
    rng = np.random.default_rng(0)
    lays = [_unit_vector(rng.normal(size=27)) for _ in range(6)]
    lays[4] = None  # a track without clothing
    lays[5] = _near(lays[1], 0.01)
    kept, weight = store.unit_layouts(lays, [5, 9, 1, 7, 20, 2], k=3)
    assert np.array_equal(kept, np.stack([lays[1], lays[3], lays[0]]))  # by faces, the clothless skipped
    assert weight.tolist() == [2.0, 1.0, 2.0] or weight.tolist() == [2.0, 2.0, 1.0]
    assert weight.sum() == 5 and weight[0] == 2.0  # track 5 counts for its nearest, track 1
    none, nw = store.unit_layouts([None, None], [3, 4])
    assert none.shape == (0, store.LAYOUT_DIM) and len(nw) == 0


def _write(root, videos, with_layouts=True):
    root.mkdir()
    (root / store.LIBRARY).write_text(json.dumps({"format": store.FORMAT, "settings": {}, "persons": [],
                                                  "written": [], "videos": [v.to_json() for v in videos]}))
    blob = store.units_npz(videos)
    if not with_layouts:  # as a library written before layouts were kept
        import io
        with np.load(io.BytesIO(blob)) as z:
            old = {k: z[k] for k in ("encoding", "track_ids", "track_offsets")}
        buf = io.BytesIO()
        np.savez(buf, **old)
        blob = buf.getvalue()
    (root / store.UNITS).write_bytes(blob)


@pytest.mark.parametrize("with_layouts", [True, False])
def test_units_npz_keeps_the_layouts_and_reads_a_library_without_them(tmp_path, with_layouts):
    x = _faces()

    def unit(k, lays, faces=5):
        return store.Unit(f"person_{k + 1:03d}", (k,), faces, 0.0, 1.0, ((0.0, 1.0),), (), x[k].astype(np.float32),
                          lays, np.arange(1, len(lays) + 1, dtype=np.float32))

    x_layouts = np.stack([LX, _near(LZ)])
    videos = [store.Video("a", "a.mp4", {}, {}, None, (unit(0, x_layouts, 8), unit(1, store.NO_LAYOUTS)), ()),
              store.Video("b", "b.mp4", {}, {}, None, (unit(2, LZ[None]),), ())]
    _write(tmp_path / "lib", videos, with_layouts)
    _, back = store.load(tmp_path / "lib")
    got = [u for v in back for u in v.units]
    if with_layouts:
        assert [len(u.layouts) for u in got] == [2, 0, 1]
        assert np.array_equal(got[0].layouts, x_layouts) and got[0].layout_weights.tolist() == [1.0, 2.0]
        assert np.array_equal(got[2].layouts[0], LZ)
    else:
        assert all(u.layouts.shape == (0, store.LAYOUT_DIM) for u in got)
    linked = ops.link_videos(back, [None] * 3, ops.link_settings({}, {}))  # links either way
    assert len(linked.labels) == 3
    if with_layouts:  # Z's layout is near one of X's, in another video: joined, and said so
        assert linked.labels[2] == linked.labels[0] and linked.by_layout == {2}
    else:
        assert len(set(linked.labels.tolist())) == 3 and not linked.by_layout


def test_the_page_marks_a_person_linked_by_clothes():
    from clusterer.library.gallery import gallery_html

    def entry(video, linked):
        return {"video": video, "person": "person_001", "faces": 5, "first": 0.0, "last": 1.0,
                "appearances": [[0.0, 1.0]], "crops": [], "linked": linked}

    lib = {"videos": [{"name": n, "units": [{"last": 1.0}]} for n in ("a", "c")], "settings": {},
           "persons": [{"id": "person_0001", "faces": 10, "videos": [entry("a", "face"), entry("c", "clothes")]}]}
    page = gallery_html(lib)
    assert "10 faces in 2 videos" in page
    assert page.count("linked by clothes") == 1
    lib["persons"][0]["videos"].append(entry("a", "face"))  # a video's run split the person: still 2 videos
    assert "10 faces in 2 videos" in gallery_html(lib)
    assert page.index("linked by clothes") > page.index('href="videos/c/index.html"')


def test_the_layout_threshold_is_an_option_kept_with_the_library():
    from clusterer.library.cli import build_parser

    assert build_parser().parse_args(["LIB", "link", "--link-layout-threshold", "0"]).link_layout_threshold == 0.0
    assert ops.link_settings({"settings": {"link_layout_threshold": 0.03}}, {})["link_layout_threshold"] == 0.03
    assert ops.link_settings({}, {})["link_layout_threshold"] == 0.04


def _at(v, dist, seed):
    """A unit vector at cosine distance `dist` from unit vector v."""
    p = np.random.default_rng(seed).normal(size=len(v))
    p -= (p @ v) * v
    p /= np.linalg.norm(p)
    c = 1.0 - dist
    return (c * v + np.sqrt(1.0 - c * c) * p).astype(np.float32)


@pytest.mark.parametrize("ratio, joined", [(None, False), (0.5, True)])
def test_across_videos_the_nearest_layout_must_be_clearly_nearest(ratio, joined):
    """Z's layout 0.01 from X's, 0.025 from Y's (a ratio of 0.4): inside a
    video's margin (0.5), not the library's stricter default (0.3)."""
    layouts = [(_at(LZ, 0.01, 1)[None], np.ones(1)), (_at(LZ, 0.025, 2)[None], np.ones(1)), (LZ[None], np.ones(1))]
    kw = {} if ratio is None else {"ratio": ratio}
    out = join_by_layout(np.arange(3), _faces(), np.array([40, 40, 5]), [frozenset()] * 3, layouts,
                         ["a", "b", "c"], 0.04, max_faces=30, **kw)
    assert bool(out[2] == out[0]) is joined and out[1] == 1


@pytest.mark.parametrize("faces", [(8, 5), (5, 8)])
def test_of_two_brief_persons_in_the_same_clothes_the_smaller_joins_the_larger(faces):
    x = np.zeros((2, 128))
    x[1, 0] = 0.4
    moved: set[int] = set()
    out = join_by_layout(np.arange(2), x, np.array(faces), [frozenset()] * 2,
                         [(LX[None], np.ones(1)), (_near(LX)[None], np.ones(1))], ["a", "b"], 0.04, max_faces=30,
                         moved=moved)
    assert out[0] == out[1] and moved == {int(np.argmin(faces))}


def test_list_names_each_video_once_and_counts_the_clothes_links():
    from clusterer.library.cli import _where

    entries = [{"video": "ep1", "linked": "face"}, {"video": "ep2", "linked": "face"},
               {"video": "ep1", "linked": "clothes"}]
    assert _where(entries) == "ep1 ×2, ep2  (1 linked by clothes)"
    assert _where(entries[:2]) == "ep1, ep2"
