"""The settings table: every setting has its stage, the stage dataclasses are
built and checked from it, and bad values are SettingsError (a ValueError too)."""
import dataclasses

import pytest

from clusterer import cache
from clusterer.errors import ClusterVideoError, SettingsError
from clusterer.settings import (CLUSTERING, EXTRACTION, OTHER, SETTINGS, ClusteringSettings, ExtractionSettings, Stage,
                                default, min_face_px, of_stage, split_settings, stage_settings)
from clusterer.types import DetectorName, Mode


def test_every_setting_has_a_stage_and_the_dataclasses_agree_with_the_table():
    assert all(s.stages for s in SETTINGS.values())
    assert set(EXTRACTION) == set(of_stage(Stage.EXTRACTION))
    assert set(CLUSTERING) == set(of_stage(Stage.CLUSTERING))
    assert set(OTHER) <= set(of_stage(Stage.OUTPUT)) | set(of_stage(Stage.RUN))
    for cls in (ExtractionSettings, ClusteringSettings):
        assert {f.name: f.default for f in dataclasses.fields(cls)} == \
            {f.name: default(f.name) for f in dataclasses.fields(cls)}


def test_stage_settings_are_frozen_and_fill_defaults():
    ext, clu = stage_settings({"threshold": 0.4, "fps": 1.0, "workers": 1})
    assert clu.threshold == 0.4 and clu.mode == default("mode") and ext.fps == 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        ext.fps = 3.0
    assert split_settings({"fps": 1.0}) == (ExtractionSettings(fps=1.0).as_dict(), ClusteringSettings().as_dict())


@pytest.mark.parametrize("bad, needle", [
    ({"threshold": -1.0}, "threshold"), ({"fps": float("nan")}, "finite"), ({"mode": "best"}, "mode"),
    ({"start": 5.0, "end": 2.0}, "end"), ({"workers": 0}, "workers"),
])
def test_bad_values_are_settings_errors(bad, needle):
    with pytest.raises(SettingsError, match=needle) as e:
        stage_settings(bad)
    assert isinstance(e.value, ClusterVideoError) and isinstance(e.value, ValueError)


def test_unknown_names_are_a_programming_error():
    with pytest.raises(TypeError, match="colour"):
        stage_settings({"colour": 1})


def test_cache_key_from_the_dataclass_equals_the_dict(tmp_path):
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x" * 100)
    ext = ExtractionSettings(fps=1.0)
    assert cache.cache_key(video, ext) == cache.cache_key(video, ext.as_dict())
    assert list(cache.cache_key(video, ext)["settings"]) == list(EXTRACTION)


def test_choices_are_the_enums_of_types():
    """The table (under types.py in the layers) lists the enums' strings, in order:
    the CLI's values and the cache key's strings are these."""
    assert SETTINGS["detector"].choices == tuple(d.value for d in DetectorName) == ("mtcnn", "hog", "cnn")
    assert SETTINGS["mode"].choices == tuple(m.value for m in Mode)
    assert SETTINGS["detector"].default == DetectorName.MTCNN


@pytest.mark.parametrize("size, px", [((1280, 720), 20), ((640, 360), 20), ((1920, 1080), 30),
                                      ((1080, 1920), 30), ((3840, 2160), 60), ((2560, 1440), 40)])
def test_the_smallest_face_follows_the_frame_size_unless_given(size, px):
    """--min-face's default is the same share of the frame at every size (never
    under 20 px); a value given is used as it is, in pixels."""
    assert default("min_face") is None
    assert min_face_px(None, *size) == px
    assert min_face_px(14, *size) == 14 and min_face_px(0, *size) == 0


def test_the_parts_join_help_names_the_constants_it_runs_with():
    """--part-ratio's help states the weight and the bound grouping.persons
    uses (settings cannot import grouping: a changed constant must change it)."""
    from clusterer.grouping.persons import PARTS_JOIN_FACES, PARTS_NEAR

    text = SETTINGS["part_ratio"].help
    assert f"at least {PARTS_JOIN_FACES} faces" in text and f"within {PARTS_NEAR} of both" in text
