"""The feature cache: reused without decoding, invalidated by extraction
settings and by a changed video, rebuilt when corrupt."""
from __future__ import annotations

import json
import logging
import os
import shutil

import numpy as np
import pytest

import clusterer.extraction as extraction
from clusterer import cache, run


@pytest.fixture
def clip(tmp_path, demo_video):
    """A copy of the demo; the runs look at its first 3 s (KW), to keep the tests quick."""
    dst = tmp_path / "clip.mp4"
    shutil.copy(demo_video, dst)
    return dst


@pytest.fixture
def count_decodes(monkeypatch):
    calls = []
    real = extraction.iter_frames

    def spy(*a, **kw):
        calls.append(1)
        return real(*a, **kw)
    monkeypatch.setattr(extraction, "iter_frames", spy)
    return calls


KW = dict(end=3.0, overwrite=True)


@pytest.fixture(scope="session")
def clip_run(tmp_path_factory):
    """One run with the default settings on a copy of the demo, shared: (clip, Result, folder).
    Tests copy the folder before they write into it, and never change the clip."""
    from conftest import DEMO, once

    def make(d):
        clip = d / "clip.mp4"
        shutil.copy2(DEMO, clip)
        result, dest = run(clip, out=d / "out", **KW)
        return clip, result, dest
    return once(tmp_path_factory, "cache-clip", make)


def test_reused_without_decoding(clip, tmp_path, count_decodes):
    out = tmp_path / "out"
    r1, dest = run(clip, out=out, **KW)
    assert len(count_decodes) == 1
    assert (dest / cache.FEATURES).is_file() and (dest / cache.META).is_file()
    # clustering settings only: no decoding at all, same faces
    r2, _ = run(clip, out=out, threshold=0.3, mode="fused", **KW)
    r3, _ = run(clip, out=out, threshold=0.5, mode="faces", min_faces=3, cloth_ratio=0.5, **KW)
    assert len(count_decodes) == 1
    assert r2.n_faces == r3.n_faces == r1.n_faces
    written = json.loads((dest / "clusters.json").read_text())["written"]
    assert cache.FEATURES in written and cache.META in written


@pytest.mark.parametrize("change", [dict(fps=1.0), dict(upsample=0), dict(min_face=60), dict(start=1.0),
                                    dict(track_gap=0), dict(encoder="dlib"),
                                    dict(cloth_colour=0.0), dict(track_score=0.0)])
def test_invalidated_by_extraction_settings(clip_run, tmp_path, count_decodes, change):
    clip, _, dest = clip_run
    out = tmp_path / "out"
    shutil.copytree(dest, out / dest.name)  # a folder with a cache of the default settings
    run(clip, out=out, **{**KW, **change})
    assert len(count_decodes) == 1
    run(clip, out=out, **{**KW, **change})  # and the new cache is then reused
    assert len(count_decodes) == 1


def test_invalidated_by_changed_video(clip, tmp_path, count_decodes):
    out = tmp_path / "out"
    run(clip, out=out, **KW)
    data = bytearray(clip.read_bytes())
    data[-100] ^= 0xFF  # a change near the end, in a hashed block
    clip.write_bytes(bytes(data))
    st = clip.stat()
    os.utime(clip, ns=(st.st_atime_ns, st.st_mtime_ns))  # even with size and mtime unchanged
    key = cache.cache_key(clip, {"x": 1})
    assert key["video"]["size"] == len(data)
    run(clip, out=out, **KW)
    assert len(count_decodes) == 2


@pytest.mark.parametrize("damage", ["truncate", "garbage-json", "flip-bit"])
def test_corrupt_cache_rebuilt(clip_run, tmp_path, count_decodes, caplog, damage):
    clip, r1, src = clip_run
    out = tmp_path / "out"
    dest = shutil.copytree(src, out / src.name)  # a run's folder, with its cache
    feats = dest / cache.FEATURES
    if damage == "truncate":
        feats.write_bytes(feats.read_bytes()[: feats.stat().st_size // 2])
    elif damage == "garbage-json":
        (dest / cache.META).write_text("{not json")
    else:
        b = bytearray(feats.read_bytes())
        b[len(b) // 2] ^= 0x01
        feats.write_bytes(bytes(b))
    with caplog.at_level(logging.WARNING, logger="clusterer"):
        r2, _ = run(clip, out=out, **KW)
    assert len(count_decodes) == 1
    assert any("corrupt" in r.getMessage() for r in caplog.records)
    assert r2.n_faces == r1.n_faces
    # rebuilt: valid again
    run(clip, out=out, **KW)
    assert len(count_decodes) == 1


def test_round_trip_is_exact(clip, tmp_path):
    from clusterer import FaceAnalyzer, extract, probe
    from clusterer.clothing.embedders import make_embedder

    info = probe(clip)
    ex = extract(clip, info, FaceAnalyzer(), make_embedder(None, "cpu"), end=3.0)
    back = cache.from_arrays(cache.to_arrays(ex))
    assert back.sampled == ex.sampled and back.cuts == ex.cuts and back.tracks == ex.tracks
    for a, b in zip(ex.faces, back.faces):
        assert (a.frame, a.time, a.box_xyxy, a.score, a.quality, a.crop_jpeg) == \
               (b.frame, b.time, b.box_xyxy, b.score, b.quality, b.crop_jpeg)
        assert (a.encoding is None and b.encoding is None) or np.array_equal(a.encoding, b.encoding)
    for a, b in zip(ex.clothing, back.clothing):
        assert a.box_xyxy == b.box_xyxy and a.crop_jpeg == b.crop_jpeg
        assert (a.embedding is None and b.embedding is None) or np.array_equal(a.embedding, b.embedding)
        assert (a.layout is None) == (a.embedding is None)  # every clothing seen has its layout
        assert (a.layout is None and b.layout is None) or np.array_equal(a.layout, b.layout)
    assert ex.rate == back.rate == 2.0


def test_a_cache_without_the_rate_takes_it_from_its_key(clip, tmp_path):
    """Grouping's counts of faces depend on the sampling rate (grouping.persons.faces_at):
    a cache written before the rate was stored gets it from the --fps in its key."""
    import dataclasses

    from clusterer import FaceAnalyzer, extract, probe

    ex = dataclasses.replace(extract(clip, probe(clip), FaceAnalyzer(), fps=4.0, end=1.0), rate=None)
    key = cache.cache_key(clip, {"fps": 4.0, "end": 1.0})
    cache.save(tmp_path, key, ex)
    assert cache.load(tmp_path, key).rate == 4.0
