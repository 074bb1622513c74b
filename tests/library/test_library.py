"""The library: videos added, listed and removed; linking by face across
videos; names carried both ways; corrections in people/ followed; the
executors; the faiss search. Videos are copies of the demo clip (two people),
their feature cache computed once."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from clusterer.errors import ClusterVideoError
from clusterer.grouping.linkage import FaceClusterer, constrained_centroid_linkage
from clusterer.grouping.table import TrackTable
from clusterer.library import ops, store
from clusterer.library.executor import Job, RayExecutor, Serial, make_executor
from clusterer.library.index import brute_knn, knn
from clusterer.library.link import _graph_linkage, attach_smaller, link, own_video_rivals

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def demo_cache(demo_cli_run) -> Path:
    """The demo clip's feature cache: the session's one default run (conftest);
    videos() copies it, never writes into it."""
    ran, dest = demo_cli_run
    assert ran.returncode == 0, ran.stderr
    return dest / "cache"


@pytest.fixture(scope="session")
def demo_video() -> Path:
    return ROOT / "samples" / "demo.mp4"


def videos(tmp_path: Path, lib: Path, cache: Path, *names: str) -> list[Path]:
    """Copies of the demo clip named `names` (same bytes and mtime, so the same
    cache key), their caches put where the library runs them."""
    out = []
    for n in names:
        v = tmp_path / "media" / f"{n}.mp4"
        v.parent.mkdir(exist_ok=True)
        if not v.exists():
            shutil.copy2(ROOT / "samples" / "demo.mp4", v)
        if not (lib / "videos" / n / "cache").exists():
            shutil.copytree(cache, lib / "videos" / n / "cache")
        out.append(v)
    return out


def cli(*args):
    """The CLI in this process, its output captured (conftest)."""
    from conftest import cli_in_process

    return cli_in_process(*args)


def people(lib: Path) -> dict[str, set[str]]:
    data = json.loads((lib / "library.json").read_text())
    return {p["id"]: {a["video"] for a in p["videos"]} for p in data["persons"]}


def test_add_list_remove(tmp_path, demo_cache):
    lib = tmp_path / "lib"
    a, b = videos(tmp_path, lib, demo_cache, "ep1", "ep2")
    ran, kept, data = ops.add(lib, [a, b])
    assert sorted(ran) == ["ep1", "ep2"] and kept == []
    # the demo's two people, each linked across both copies
    assert people(lib) == {"person_0001": {"ep1", "ep2"}, "person_0002": {"ep1", "ep2"}}
    for p in data["persons"]:
        crops = [c for a in p["videos"] for c in a["crops"]]
        assert {c.split("/")[1] for c in crops} == {p["id"]}
        assert all((lib / c).is_file() for c in crops)
        assert {Path(c).name.split("__")[0] for c in crops} == {"ep1", "ep2"}
    page = (lib / "index.html").read_text()
    assert page.count('href="videos/ep2/index.html"') >= 2
    assert "two persons each seen in one video only at\n0.36 (join 0.52" in page  # the link settings used
    assert "layout within 0.04" in page
    assert {a["linked"] for p in data["persons"] for a in p["videos"]} == {"face"}
    # each unit keeps its largest tracks' clothing layouts, for the layout join
    assert all(0 < len(u.layouts) <= store.LAYOUTS_PER_UNIT and u.layout_weights.sum() >= len(u.layouts)
               for v in store.load(lib)[1] for u in v.units)
    r = cli("library", lib, "list")
    assert r.returncode == 0 and "ep1" in r.stdout and "person_0002" in r.stdout
    (lib / "people" / "person_0001" / "notes.txt").write_text("mine")
    data = ops.remove(lib, ["ep2"])
    assert (lib / "people" / "person_0001" / "notes.txt").read_text() == "mine"  # never removed
    assert [v["name"] for v in data["videos"]] == ["ep1"]
    assert people(lib) == {"person_0001": {"ep1"}, "person_0002": {"ep1"}}
    assert not list((lib / "people").glob("*/ep2__*"))  # its crops left the library …
    assert (lib / "videos" / "ep2" / "clusters.json").is_file()  # … its own result stays


def test_incremental_add_runs_only_the_new_video(tmp_path, demo_cache, monkeypatch):
    lib = tmp_path / "lib"
    a, b = videos(tmp_path, lib, demo_cache, "ep1", "ep2")
    ops.add(lib, [a])
    before = {p: p.stat().st_mtime_ns for p in (lib / "videos" / "ep1").rglob("*") if p.is_file()}
    ran_jobs = []
    real = Serial.map
    monkeypatch.setattr(Serial, "map", lambda self, jobs: ran_jobs.extend(jobs) or real(self, jobs))
    ran, kept, _ = ops.add(lib, [a, b])
    assert (ran, kept) == (["ep2"], ["ep1"])
    assert [Path(j.video).stem for j in ran_jobs] == ["ep2"]
    after = {p: p.stat().st_mtime_ns for p in (lib / "videos" / "ep1").rglob("*") if p.is_file()}
    assert after == before  # ep1 neither extracted nor re-exported
    assert people(lib) == {"person_0001": {"ep1", "ep2"}, "person_0002": {"ep1", "ep2"}}


def test_a_name_given_in_one_video_names_the_library_and_the_others(tmp_path, demo_cache):
    lib = tmp_path / "lib"
    ops.add(lib, videos(tmp_path, lib, demo_cache, "ep1", "ep2"))
    (lib / "videos" / "ep1" / "person_002").rename(lib / "videos" / "ep1" / "Grace")
    ops.relink(lib)
    assert people(lib) == {"Grace": {"ep1", "ep2"}, "person_0001": {"ep1", "ep2"}}
    other = json.loads((lib / "videos" / "ep2" / "clusters.json").read_text())
    assert sorted(p["id"] for p in other["persons"]) == ["Grace", "person_001"]
    assert (lib / "videos" / "ep2" / "Grace").is_dir()
    assert (lib / "people" / "Grace").is_dir()


def test_a_correction_in_the_library_is_followed(tmp_path, demo_cache):
    lib = tmp_path / "lib"
    ops.add(lib, videos(tmp_path, lib, demo_cache, "ep1", "ep2"))
    (lib / "people" / "person_0001").rename(lib / "people" / "Alice")  # name it
    ops.relink(lib)
    assert people(lib)["Alice"] == {"ep1", "ep2"}
    # split: ep2's crops of Alice into a folder of their own
    (lib / "people" / "Bob").mkdir()
    for f in (lib / "people" / "Alice").glob("ep2__*"):
        f.rename(lib / "people" / "Bob" / f.name)
    ops.relink(lib)
    got = people(lib)
    assert got["Alice"] == {"ep1"} and got["Bob"] == {"ep2"}
    ops.relink(lib)  # and it stays so
    assert people(lib) == got


def test_executor_interface(monkeypatch):
    import importlib.util

    assert Serial().map([]) == []
    assert RayExecutor().map([]) == []  # nothing to run: Ray is not even started
    found = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "ray" else found(name, *a))
    assert isinstance(make_executor("ray", "ray://head:10001"), RayExecutor)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else found(name, *a))
    with pytest.raises(ClusterVideoError, match="needs Ray, which is not installed"):
        make_executor("ray")
    with pytest.raises(ValueError, match="goes with --executor ray"):
        make_executor("serial", "ray://head:10001")
    with pytest.raises(ValueError, match="executor must be one of"):
        make_executor("spark")
    assert Job("/v/ep 1.mp4", "/lib/videos", {}, None, 4).name == "ep 1"


@pytest.mark.slow
def test_ray_gives_the_serial_library(tmp_path, demo_cache):
    pytest.importorskip("ray")
    import ray

    libs = []
    for kind in ("serial", "ray"):
        lib = tmp_path / kind
        ops.add(lib, videos(tmp_path, lib, demo_cache, "ep1", "ep2"), executor=kind)
        libs.append(lib)
    ray.shutdown()
    a, b = (json.loads((lib / "library.json").read_text()) for lib in libs)
    for d in (a, b):
        for v in d["videos"]:
            v["path"] = Path(v["path"]).name
    assert a["persons"] == b["persons"] and a["videos"] == b["videos"]
    assert (libs[0] / "units.npz").read_bytes() == (libs[1] / "units.npz").read_bytes()


def test_cli_errors_are_one_line(tmp_path):
    (tmp_path / "notalib").mkdir()
    (tmp_path / "notalib" / "mine.txt").write_text("x")
    for args, needle in [(("list",), "library.json"), (("link",), "library.json"),
                         (("add", tmp_path / "missing.mp4"), "no such file"),
                         (("remove", "ep9"), "library.json")]:
        r = cli("library", tmp_path / "notalib", *args)
        assert r.returncode == 1, r.stderr
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("cluster-video: error:") and needle in r.stderr
    assert (tmp_path / "notalib" / "mine.txt").read_text() == "x"
    r = cli("library", tmp_path / "new", "add", ROOT / "samples" / "demo.mp4", "--ray-address", "ray://head:10001")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "goes with --executor ray" in r.stderr, r.stderr


def test_cast_ratio_is_an_option_kept_with_the_library():
    from clusterer.errors import ClusterVideoError
    from clusterer.library.cli import build_parser

    args = build_parser().parse_args(["LIB", "link", "--link-cast-ratio", "0.95"])
    assert args.link_cast_ratio == 0.95
    assert ops.link_settings({}, {})["link_cast_ratio"] == 0.92  # the default …
    assert ops.link_settings({"settings": {"link_cast_ratio": 0.9}}, {})["link_cast_ratio"] == 0.9  # … the library's
    assert ops.link_settings({"settings": {"link_cast_ratio": 0.9}}, {"link_cast_ratio": 0.95})["link_cast_ratio"] == 0.95
    with pytest.raises(ClusterVideoError):
        ops.link_settings({}, {"link_cast_ratio": 1.5})


def test_faiss_search_equals_brute_force():
    x = np.random.default_rng(1).normal(size=(300, 128)).astype(np.float32)
    (d1, i1), (d2, i2) = knn(x, 10), brute_knn(x, 10)
    assert (i1 == i2).all()
    assert np.allclose(d1, d2, atol=1e-4)
    d, i = knn(x[:3], 10)  # fewer rows than neighbours asked for
    assert (i[:, 2:] == -1).all() and np.isinf(d[:, 2:]).all() and set(i[0, :2]) == {1, 2}


def _blobs(n_people=12, per=6, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_people, 128)) * 0.05
    x = np.concatenate([c + rng.normal(size=(per, 128)) * 0.012 for c in centres])
    return x, np.repeat(np.arange(n_people), per)


def test_graph_linkage_equals_the_all_pairs_linkage():
    x, _ = _blobs()
    n = len(x)
    got = link(x, np.ones(n) * 20, [frozenset()] * n, [None] * n, threshold=0.45, join_threshold=0.0,
               min_faces=0, k=n - 1)
    ref = FaceClusterer(0.45, min_faces=1).fit_predict(TrackTable.rows(x, [frozenset([i]) for i in range(n)],
                                                                        np.ones(n) * 20))
    assert len(set(got)) == len(set(ref)) > 1
    pairs = lambda lab: {(i, j) for i in range(n) for j in range(n) if lab[i] == lab[j]}  # noqa: E731
    assert pairs(got) == pairs(ref)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_array_linkage_merges_as_the_all_pairs_linkage_with_conflicts(seed):
    """The candidate-graph linkage (its bookkeeping in arrays, start pairs
    sorted at once) against constrained_centroid_linkage, with conflict
    tokens between nearby units and unequal weights, on the complete graph."""
    x, _ = _blobs(n_people=10, per=5, seed=seed)
    n = len(x)
    rng = np.random.default_rng(seed)
    w = rng.integers(1, 40, size=n).astype(float)
    tokens = [set() for _ in range(n)]
    for t, (a, b) in enumerate(rng.integers(0, n, size=(25, 2))):
        if a != b:
            tokens[a].add(t)
            tokens[b].add(t)
    spans = [frozenset(t) for t in tokens]
    groups = [[i] for i in range(n)]
    for threshold in (0.3, 0.45, 0.7):
        got = sorted(map(tuple, _graph_linkage(x, w, spans, groups, threshold, n - 1, supported=False)))
        ref = sorted(tuple(sorted(c)) for c in constrained_centroid_linkage(x, spans, threshold, w))
        assert got == ref
        assert len(ref) < n  # something merged …
        if threshold == 0.7:  # … and a conflict held two units apart that would otherwise have merged
            assert len(ref) > len(constrained_centroid_linkage(x, [frozenset()] * n, threshold, w))


def test_linking_keeps_people_of_one_frame_and_of_two_names_apart():
    x, truth = _blobs(n_people=3, per=4)
    n = len(x)
    free = link(x, np.full(n, 20), [frozenset()] * n, [None] * n)
    assert len(set(free)) == 3 and all(len(set(truth[free == c])) == 1 for c in set(free))
    tokens = [frozenset()] * n
    tokens[0] = tokens[1] = frozenset({("v", 0, 1)})  # units 0 and 1 share a frame
    names = [None] * n
    names[4], names[5] = "Ann", "Bea"  # one person, two names
    apart = link(x, np.full(n, 20), tokens, names)
    assert apart[0] != apart[1] and apart[4] != apart[5]


def test_a_brief_person_joins_only_a_clear_nearest():
    x, truth = _blobs(n_people=2, per=5)
    n = len(x)
    w = np.full(n, 20)
    w[0] = 3  # a unit of three faces takes no part in the linkage …
    lab = link(x, w, [frozenset()] * n, [None] * n)
    assert lab[0] == lab[1]  # … and joins its clear nearest
    between = (x[:5].mean(0) + x[5:].mean(0)) / 2  # halfway between two people: near both
    lab = link(np.vstack([x, between]), np.append(w, 3), [frozenset()] * (n + 1), [None] * (n + 1))
    assert lab[-1] not in (lab[1], lab[6])


def _two_people_and_a_brief_one():
    """Units 0, 1 (one person), 2 (another), 3 (brief: 5 faces) 0.300 from
    the first and 0.333 from the second: a margin of 0.9."""
    x = np.zeros((4, 128))
    x[2, 0] = 0.5
    x[3, 0], x[3, 1] = 0.2289, 0.1940
    return x, np.array([20.0, 20.0, 40.0, 5.0]), np.array([0, 0, 1, 2])


def test_a_brief_person_joins_only_the_cluster_holding_its_nearest_unit():
    """A cluster of two units far apart, (0.6, ±0.3), has its mean in the
    middle (0.6, 0); a brief unit at (0.36, 0) lies 0.24 from that mean and
    0.36 from the other person's unit at (0, 0), clearly nearer the mean, but
    its nearest unit is that other person's (the cluster's lie 0.38 away):
    no support, it stays alone. One at (0.6, 0.15), by a unit of the cluster, joins it."""
    x = np.zeros((4, 128))
    x[1, :2], x[2, :2] = (0.6, 0.3), (0.6, -0.3)
    labels, w, spans = np.array([0, 1, 1, 2]), np.array([40.0, 15.0, 15.0, 5.0]), [frozenset()] * 4
    x[3, :2] = 0.36, 0.0
    assert attach_smaller(labels, x, spans, 0.55, 0.85, w).tolist() == labels.tolist()
    x[3, :2] = 0.6, 0.15
    assert attach_smaller(labels, x, spans, 0.55, 0.85, w).tolist() == [0, 1, 1, 1]


def test_a_brief_person_joins_one_of_the_cast_by_a_looser_margin():
    x, w, labels = _two_people_and_a_brief_one()
    spans = [frozenset()] * 4
    assert np.isclose(np.linalg.norm(x[3] - x[0]) / np.linalg.norm(x[3] - x[2]), 0.9, atol=0.002)
    cast = attach_smaller(labels, x, spans, 0.55, 0.85, w, videos=["a", "b", "c", "d"], cast_ratio=0.92)
    assert cast[3] == cast[0]  # the first person is seen in two videos: one of the cast
    alone = attach_smaller(labels, x, spans, 0.55, 0.85, w, videos=["a", "a", "c", "d"], cast_ratio=0.92)
    assert alone[3] not in (alone[0], alone[2])  # seen in one video only: the strict margin holds
    assert (attach_smaller(labels, x, spans, 0.55, 0.85, w, videos=["a", "b", "c", "d"]) == alone).all()
    via_link = link(x, w, [frozenset()] * 4, [None] * 4, threshold=0.1, join_threshold=0.45,
                    videos=["a", "b", "c", "d"], cast_ratio=0.92, min_faces=10)
    assert via_link[3] == via_link[0] != via_link[2]


def test_a_unit_encoding_weights_faces_by_quality():
    from clusterer.library.store import unit_encoding
    from clusterer.types import Face

    def face(v, q, coded=True):
        return Face(0, 0.0, (0, 0, 10, 10), 1.0, np.full(128, v) if coded else None, b"", q)

    got = unit_encoding([face(1.0, 0.9), face(0.0, 0.1), face(5.0, 1.0, coded=False)])
    assert np.allclose(got, 0.9)  # the clear face weighs nine times the dark one; no encoding, no say
    assert unit_encoding([face(1.0, 0.5, coded=False)]) is None


def _synthetic_parts():
    """Two people over 10 samples, one of them on screen throughout, split at
    sample 5 as two chunk extractions would give it (ids and indices their own)."""
    from clusterer.types import Face
    from clusterer.types import Extraction
    from clusterer.types import Track

    enc = np.zeros(128)

    def part(samples, who):
        faces, tracks = [], []
        for t_id, (box, frames) in enumerate(who):
            items = []
            for f in frames:
                faces.append(Face(f * 12, f / 2, box, 1.0, enc, b"jpg", 0.8))
                items.append(len(faces) - 1)
            tracks.append(Track(t_id, 0, tuple(items)))
        return Extraction(tuple(faces), None, tuple(f * 12 for f in samples), (), tuple(tracks))

    a, b = (10, 10, 60, 60), (200, 10, 250, 60)
    first = part(range(5), [(a, range(5)), (b, range(1, 4))])  # b leaves before the border
    second = part(range(5, 10), [(b, range(5, 8)), (a, range(5, 10))])  # b back, beside a
    return first, second, a, b


def test_stitch_continues_tracks_across_a_chunk_border():
    from clusterer.library.chunks import bounds, stitch

    first, second, a, b = _synthetic_parts()
    ex = stitch([first, second], track_iou=0.3)
    got = sorted(sorted((ex.faces[i].frame // 12, ex.faces[i].box_xyxy) for i in t.items) for t in ex.tracks)
    want = sorted([[(f, a) for f in range(10)], [(f, b) for f in range(1, 4)], [(f, b) for f in range(5, 8)]])
    assert got == want  # a's track goes on across the border; b's two tracks stay two (a gap)
    assert len({t.id for t in ex.tracks}) == 3 and ex.sampled == tuple(f * 12 for f in range(10))
    # chunks of whole samples, the last open-ended
    assert bounds(0.0, 25.0, 10.0, 2.0) == [(0.0, 9.75), (10.0, 19.75), (20.0, None)]
    # the sampling rate goes on too: grouping's counts of faces depend on it
    assert ex.rate is None
    assert stitch([dataclasses.replace(p, rate=4.0) for p in (first, second)], track_iou=0.3).rate == 4.0


@pytest.mark.slow
def test_a_chunked_video_gives_the_same_persons(demo_cache, demo_video):
    from clusterer import cache
    from clusterer.library.chunks import extract_chunked
    from clusterer.grouping.persons import cluster
    from clusterer.settings import split_settings

    extraction, clustering = split_settings({})
    whole = cache.load(demo_cache.parent, json.loads((demo_cache / "features.json").read_text())["key"])
    chunked = extract_chunked(str(demo_video), extraction, True, chunk_seconds=10.0)
    assert chunked.sampled == whole.sampled
    frames = []
    for ex in (whole, chunked):
        persons, _ = cluster(ex, **clustering)
        frames.append(sorted(sorted(s.face.frame for s in p.sightings) for p in persons))
    assert len(frames[0]) == len(frames[1]) == 2
    for p, q in zip(*frames):  # the same people, seen in (almost) the same samples
        assert len(set(p) & set(q)) >= 0.9 * max(len(p), len(q))


@pytest.mark.slow
def test_library_add_in_chunks_gives_the_same_library(tmp_path, demo_cache):
    whole = tmp_path / "whole"
    ops.add(whole, videos(tmp_path, whole, demo_cache, "ep1"))
    chunked = tmp_path / "chunked"
    v = tmp_path / "fresh" / "ep1.mp4"
    v.parent.mkdir()
    shutil.copy2(ROOT / "samples" / "demo.mp4", v)
    ops.add(chunked, [v], chunk_seconds=10.0)
    assert (chunked / "videos" / "ep1" / "cache" / "features.npz").is_file()
    a, b = (json.loads((lib / "library.json").read_text())["persons"] for lib in (whole, chunked))
    assert len(a) == len(b) == 2
    for p, q in zip(a, b):
        assert abs(p["faces"] - q["faces"]) <= 0.1 * p["faces"]


def _look_alike_in_own_video(rival: float):
    """Unit 0 (video a, 30 faces) at 0; unit 1 (video a, 5 faces, on screen with
    unit 0: someone else) `rival` from it; unit 2 (video b, 20 faces) 0.38 from
    unit 0; unit 3 (video c) far from all."""
    x = np.zeros((4, 128))
    x[1, 0], x[2, 1], x[3, 2] = rival, 0.38, 1.0
    tokens = [frozenset({1}), frozenset({1}), frozenset(), frozenset()]
    return x, np.array([30.0, 5.0, 20.0, 20.0]), tokens, ["a", "a", "b", "c"]


def test_a_unit_with_a_nearer_look_alike_in_its_own_video_stays_apart():
    """0.38 is under the link threshold, but unit 0's own video holds someone
    else 0.30 from it: another video's unit at 0.38 is no evidence."""
    x, w, tokens, videos = _look_alike_in_own_video(0.30)
    old = link(x, w, tokens, [None] * 4, videos=videos, rival_ratio=10.0)
    assert old[0] == old[2]
    new = link(x, w, tokens, [None] * 4, videos=videos)
    assert len(set(new)) == 4
    x, w, tokens, videos = _look_alike_in_own_video(0.45)  # the look-alike further than the link: it holds
    kept = link(x, w, tokens, [None] * 4, videos=videos)
    assert kept[0] == kept[2] and len(set(kept)) == 3
    # barely nearer than the look-alike (0.38 against 0.39) is no margin at the default
    x, w, tokens, videos = _look_alike_in_own_video(0.39)
    assert len(set(link(x, w, tokens, [None] * 4, videos=videos))) == 4
    loose = link(x, w, tokens, [None] * 4, videos=videos, rival_ratio=1.0)
    assert loose[0] == loose[2]


def test_own_video_rivals_are_the_nearest_others_of_the_same_video():
    x = np.zeros((5, 128))
    x[1, 0], x[2, 0], x[3, 0], x[4, 0] = 0.3, 0.5, 0.1, 0.2
    d, i = own_video_rivals(x, ["a", "a", "a", "b", "b"], m=3)
    assert i[0].tolist() == [1, 2, -1] and np.allclose(d[0, :2], [0.3, 0.5]) and np.isinf(d[0, 2])
    assert i[3].tolist() == [4, -1, -1] and np.isclose(d[3, 0], 0.1)


def test_clusters_link_only_where_two_of_their_units_are_within_the_threshold():
    """Four units of one person 0.25 from their mean (0.35 apart); a stranger 0.40
    from that mean, 0.47 from each of them: under the threshold from the mean of
    many, from none of the units."""
    x = np.zeros((5, 128))
    for j in range(4):
        x[j, j] = 0.25
    mean = x[:4].mean(0)
    x[4] = mean
    x[4, 10] = np.sqrt(0.40 ** 2 - 0.0)  # 0.40 off the mean, orthogonal to every unit's offset
    assert np.isclose(np.linalg.norm(x[4] - mean), 0.40) and np.linalg.norm(x[4] - x[0]) > 0.42
    w, spans = np.full(5, 20.0), [frozenset()] * 5
    old = _graph_linkage(x, w, spans, [[i] for i in range(5)], 0.42, 4, supported=False)
    assert sorted(map(sorted, old)) == [[0, 1, 2, 3, 4]]
    new = link(x, w, spans, [None] * 5, join_threshold=0.42, videos=list("abcde"))
    assert len(set(new[:4])) == 1 and new[4] != new[0]


def test_only_a_brief_person_joins_the_cast_by_the_looser_margin():
    x, w, labels = _two_people_and_a_brief_one()
    spans, videos = [frozenset()] * 4, ["a", "b", "c", "d"]
    brief = attach_smaller(labels, x, spans, 0.55, 0.85, w, videos=videos, cast_ratio=0.92, cast_max=10)
    assert brief[3] == brief[0]
    w = w.copy()
    w[3] = 12  # as large as the linkage's units: it had its chance there; the strict margin
    large = attach_smaller(labels, x, spans, 0.55, 0.85, w, videos=videos, cast_ratio=0.92, cast_max=10)
    assert large[3] not in (large[0], large[2])


@pytest.mark.parametrize("fragment_faces, joined", [(5, True), (12, False)])
def test_a_brief_fragment_is_no_rival_towards_the_cast(fragment_faces, joined):
    """A brief unit 0.30 from a cast member (two videos' units at the origin)
    and 0.32 from another brief unit, 0.45 from another person: the brief
    unit near both is as likely a fragment of the cast member, so the margin
    is taken to the other person (0.30 / 0.45) and it joins, the fragment
    after it; a unit of 12 faces there is a rival (0.30 / 0.32): it stays
    apart (the composites' library: obama's brief units, "Session 17")."""
    x = np.zeros((5, 128))
    x[2, :2], x[3, :2], x[4, :2] = (0.30, -0.45), (0.30, 0.0), (0.30, 0.32)
    w = np.array([20.0, 20.0, 40.0, 5.0, fragment_faces])
    labels, spans = np.array([0, 0, 1, 2, 3]), [frozenset()] * 5
    out = attach_smaller(labels, x, spans, 0.55, 0.85, w, 30, videos=list("abcde"), cast_ratio=0.92, cast_max=10)
    assert bool(out[3] == out[0]) is joined
    assert out[2] not in (out[0], out[3], out[4])
    if joined:
        assert out[4] == out[0]


@pytest.mark.parametrize("faces, joined", [(4.0, True), (6.0, False)])
def test_a_person_of_two_videos_joins_the_cast_by_the_looser_margin_only_while_brief(faces, joined):
    """Two brief units of two videos that found each other are confirmed across
    videos like the cast: while they hold fewer than cast_max faces together
    they join a cast member by the looser margin (0.9 here); at cast_max or
    more they are a person in their own right, joined by the strict margin
    only (lin_manuel_miranda, seen briefly in three composites, 20 faces,
    joined obama by a margin of 0.877: "Session 18")."""
    x, w, labels = _two_people_and_a_brief_one()
    x, labels = np.vstack([x, x[3]]), np.append(labels, 2)
    w = np.array([20.0, 20.0, 40.0, faces, faces])  # together 8 or 12 faces; cast_max 10
    spans = [frozenset()] * 5
    two = attach_smaller(labels, x, spans, 0.55, 0.85, w, videos=list("abcde"), cast_ratio=0.92, cast_max=10)
    assert two[3] == two[4]
    assert bool(two[3] == two[0]) is joined and two[3] != two[2]
    one = attach_smaller(labels, x, spans, 0.55, 0.85, w, videos=list("abcdd"), cast_ratio=0.92, cast_max=10)
    assert one[3] == one[4] and bool(one[3] == one[0]) is joined  # one video's brief person: the same


def test_the_rival_ratio_is_an_option_kept_with_the_library_and_used_by_the_link():
    from clusterer.library.cli import build_parser

    assert build_parser().parse_args(["LIB", "link", "--link-rival-ratio", "1.5"]).link_rival_ratio == 1.5
    assert ops.link_settings({"settings": {"link_rival_ratio": 1.2}}, {})["link_rival_ratio"] == 1.2
    with pytest.raises(ClusterVideoError):
        ops.link_settings({}, {"link_rival_ratio": -0.1})
    x, w, _, _ = _look_alike_in_own_video(0.30)

    def unit(k):
        return store.Unit(f"person_{k + 1:03d}", (k,), int(w[k]), 0.0, 1.0, ((0.0, 1.0),), (), x[k].astype(np.float32))

    videos = [store.Video("a", "a.mp4", {}, {}, None, (unit(0), unit(1)), ((0, 1),)),
              store.Video("b", "b.mp4", {}, {}, None, (unit(2),), ()),
              store.Video("c", "c.mp4", {}, {}, None, (unit(3),), ())]
    linked = ops.link_videos(videos, [None] * 4, ops.link_settings({}, {}))
    assert len(linked.ids) == 4
    loose = ops.link_videos(videos, [None] * 4, ops.link_settings({}, {"link_rival_ratio": 2.0}))
    assert loose.labels[0] == loose.labels[2] and len(loose.ids) == 3


def test_a_brief_person_far_from_everyone_joins_no_one_at_the_defaults():
    """A brief person of a third video whose nearest library person (seen in
    two videos) lies 0.53 away, clearly nearer than anyone else: within the
    old join bound (0.55) it joined, at the default (0.52) it stays alone
    (a real clip's 3-face person lay 0.53 from a composite's cast member,
    benchmarks/RESULTS.md "Session 9: cheaper searches")."""
    x = np.zeros((4, 128))
    x[0, 0], x[1, 0], x[2, 0], x[3, 0] = -0.05, 0.05, 0.53, -1.2
    x[3, 1] = 0.5
    w, tokens, names = np.array([12, 12, 3, 12]), [frozenset()] * 4, [None] * 4
    videos = ["a", "b", "c", "d"]
    loose = link(x, w, tokens, names, videos=videos, join_threshold=0.55)
    assert loose[2] == loose[0] == loose[1]
    strict = link(x, w, tokens, names, videos=videos)
    assert strict[0] == strict[1] and strict[2] not in (strict[0], strict[3])


def test_two_persons_each_of_one_video_link_only_under_the_pair_threshold():
    """Two videos' persons 0.39 apart with nothing else near: under
    --link-threshold (0.42) but over --link-pair-threshold (0.36), so apart
    (on the real clips, which share no one, avengers' tony and meeting's
    presenter lay 0.41 apart: "Session 12"). A third video's person 0.14 from
    the first corroborates it: the person now seen in two videos takes the
    second in under the link threshold (0.41 from its mean)."""
    from clusterer.library.cli import build_parser

    x = np.zeros((3, 128))
    x[1, 0] = 0.39
    x[2, :2] = -0.1
    w, tokens, names = np.array([40.0, 40.0, 10.0]), [frozenset()] * 3, [None] * 3
    alone = dict(join_threshold=0.0)  # the linkage only: no join or attach after it
    two = link(x[:2], w[:2], tokens[:2], names[:2], videos=["a", "b"], **alone)
    assert two[0] != two[1]
    assert len(set(link(x[:2], w[:2], tokens[:2], names[:2], videos=["a", "b"], pair_threshold=0.42, **alone))) == 1
    three = link(x, w, tokens, names, videos=["a", "b", "c"], **alone)
    assert len(set(three)) == 1
    # the option, kept with the library like the others
    assert build_parser().parse_args(["LIB", "link", "--link-pair-threshold", "0.4"]).link_pair_threshold == 0.4
    assert ops.link_settings({}, {})["link_pair_threshold"] == 0.36
    assert ops.link_settings({"settings": {"link_pair_threshold": 0.4}}, {})["link_pair_threshold"] == 0.4


def test_a_videos_look_alikes_kept_apart_are_two_people_for_the_library_too():
    from lookalikes import extraction_of, look_alikes

    from clusterer.grouping.apart import told_apart_ids
    from clusterer.library.store import unit_conflicts

    faces, spans, who = look_alikes(0)
    ex = extraction_of(faces, spans)
    apart = told_apart_ids(ex, {})  # a report from before --apart-cut: its default
    assert apart and all(who[a] != who[b] and (b, a) in apart for a, b in apart)
    assert told_apart_ids(ex, {"apart_cut": 0.0}) == set()
    # units as the video's persons: the two look-alikes' close shots, never seen together
    units = [tuple(k for k in range(len(who)) if who[k] == p and k % 6 >= 3) for p in (0, 1)]  # tracks 3–5 of each
    frames = [set().union(*(spans[k] for k in u)) for u in units]
    assert unit_conflicts(units, frames, set()) == ()
    assert unit_conflicts(units, frames, apart) == ((0, 1),)
    # one unit holding both (the user merged them) conflicts with no one
    assert unit_conflicts([units[0] + units[1]], [frames[0] | frames[1]], apart) == ()


def test_a_unit_of_a_video_sampled_faster_weighs_the_faces_of_its_seconds(monkeypatch):
    """--link-min-faces and the attach's size bounds count faces at the default
    rate: a person of 12 faces in a video run at --fps 4 is 3 s, as 6 faces
    are at 2 a second; at 1 a second 12 faces stay 12 (grouping.persons.faces_at)."""
    seen = {}

    def spy(x, w, *args, **kwargs):
        seen["w"] = [float(v) for v in w]
        return np.arange(len(w))
    monkeypatch.setattr(ops, "link", spy)
    enc = np.zeros(128, np.float32)

    def video(name, settings):
        unit = store.Unit("person_001", (0,), 12, 0.0, 6.0, ((0.0, 6.0),), (), enc)
        return store.Video(name, f"{name}.mp4", {}, settings, None, (unit,), ())

    linked = ops.link_videos([video("a", {}), video("b", {"fps": 4.0}), video("c", {"fps": 1.0})],
                             [None] * 3, ops.link_settings({}, {}))
    assert seen["w"] == [12.0, 6.0, 12.0] and len(linked.ids) == 3
