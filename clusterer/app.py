"""The whole job: sample → faces → clothing → cluster → export (run), and sweeps from the cache (tune)."""
from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Callable

from . import cache
from .clothing.embedders import make_embedder
from .errors import NoFacesFound, NoFramesDecoded, OutputError
from .evaluate import load_ground_truth
from .extraction import extract
from .faces.analyzer import FaceAnalyzer
from .grouping.persons import cluster_apart
from .naming.folders import follow_user_folders, load_known, name_persons, previous_numbers
from .output.export import check_folder, export, output_dir
from .output.outdir import claim
from .settings import default, min_face_px, split_settings
from .tuning import check_sweep, sweep
from .types import Extraction, Person, Result, VideoInfo
from .version import __version__
from .video.sampling import probe

log = logging.getLogger("clusterer")


def run(video: str | os.PathLike, *, out: str | os.PathLike = default("out"), overwrite: bool = False,
        known: str | os.PathLike | None = None,
        progress: Callable[[VideoInfo], Callable[[float], None]] | None = None,
        timings: dict[str, float] | None = None,
        rename: Callable[[tuple[Person, ...]], tuple[Person, ...]] | None = None, **settings) -> tuple[Result, Path]:
    """Cluster the people of `video`; write OUT/<video name>/; return the result and that folder.

    settings: any of the names in settings.SETTINGS (threshold=0.4, mode="fused", …);
    the rest keep their defaults. known: a folder of known people (naming/folders.py);
    names a user gave to earlier result folders are kept. progress, if given, is called once with the
    video's info (when frames are decoded) and returns a callback that receives the time of each sampled
    frame; its method `stage`, if it has one, receives the name of each stage as it begins (STAGES);
    timings, if given, receives seconds per extraction stage (see extract);
    rename, if given, may give persons other ids after naming (the library's names).
    """
    extraction, clustering = split_settings(settings)
    info = probe(video)
    if info.duration and extraction["start"] >= info.duration:  # said before models load and a bar starts
        raise NoFramesDecoded(f"{video}: no frame decoded from --start {extraction['start']:g} s on: "
                              f"the start is past the end of the video ({info.duration:.1f} s)")
    dest = output_dir(out, video)
    # locked, checked, and staged until export moves the new files into place (outdir.py)
    with claim(dest, lambda d: check_folder(d, overwrite)) as stage:
        known_people = load_known(known, FaceAnalyzer(encoder=extraction["encoder"])) if known else ()
        ex, cache_files, embedder_name = features(video, info, dest, extraction,
                                                  clustering["mode"] != "faces", progress, timings=timings,
                                                  workers=settings.get("workers", default("workers")), stage=stage)
        if not ex.faces:
            raise NoFacesFound(f"{video}: no face found in {len(ex.sampled)} sampled frames "
                               f"(try a lower --min-face, a higher --fps, or --detect-every 1)")
        _stage(progress, "clustering")
        persons, unknown, apart = cluster_apart(ex, **clustering)
        persons, unknown = follow_user_folders(persons, unknown, dest)
        persons = name_persons(persons, known_people, previous_numbers(dest))
        if rename is not None:
            persons = rename(persons)
        recorded = {**extraction, **clustering, "tool_version": __version__,
                    "known": str(known) if known else None}
        recorded["min_face_px"] = min_face_px(extraction["min_face"], info.width, info.height)
        if embedder_name:
            recorded["cloth_embedder"] = embedder_name
        result = Result(info, ex.sampled, recorded, persons, unknown, ex.cuts, ex.coverage, apart)
        _stage(progress, "writing")
        export(result, dest, extra=cache_files, merge_gap=settings.get("merge_gap", default("merge_gap")),
               stage=stage)
    return result, dest


STAGES = ("loading models", "extracting", "clustering", "writing")
"""The stages a run names to its progress display (the first two only when frames are decoded)."""


def _stage(progress, name: str) -> None:
    if progress is not None and hasattr(progress, "stage"):
        progress.stage(name)


def tune(video: str | os.PathLike, thresholds, *, out: str | os.PathLike = default("out"),
         gt_file: str | os.PathLike | None = None, progress=None, **settings):
    """Sweep rows for `thresholds` (see tuning.sweep), from the feature cache when
    there is one; otherwise extracted, and cached when the output folder may be
    written (it is empty or new). Writes nothing else."""
    extraction, clustering = split_settings(settings)
    check_sweep(clustering["mode"])
    info = probe(video)
    dest = output_dir(out, video)
    with contextlib.ExitStack() as held:
        try:
            stage = held.enter_context(claim(dest, lambda d: check_folder(d, overwrite=False)))
        except OutputError:
            stage = None  # a folder with results (or in use): read its cache, write nothing
        ex, files, _ = features(video, info, dest, extraction, clustering["mode"] != "faces", progress,
                                save=stage is not None, stage=stage)
        if stage is not None:
            stage.commit(last=cache.META)
    if not ex.faces:
        raise NoFacesFound(f"{video}: no face found in {len(ex.sampled)} sampled frames")
    gt = load_ground_truth(gt_file, ex.sampled, info.fps) if gt_file else None
    _stage(progress, "clustering")
    return sweep(ex, thresholds, clustering, gt)


def features(video: str | os.PathLike, info: VideoInfo, dest: Path, extraction: dict, with_clothing: bool,
             progress=None, save: bool = True, timings: dict[str, float] | None = None,
             workers: int = default("workers"), stage=None) -> tuple[Extraction, list[str], str | None]:
    """The extraction for `video` and these settings: from the feature cache in
    `dest` when it holds a valid one (no frame is decoded), else extracted and,
    if `save`, cached (into the run's outdir.Staging `stage` when given, moved into `dest` on commit).
    Returns the extraction, the cache files in dest, and the clothing
    embedder's name (None without clothing)."""
    key = cache.cache_key(video, extraction)
    ex = cache.load(dest, key)
    if ex is not None and (ex.clothing is not None or not with_clothing):
        log.info("features from the cache in %s: no decoding", dest / cache.CACHE_DIR)
        return ex, [cache.FEATURES, cache.META], cache.embedder_name(dest)
    update = progress(info) if progress else None
    _stage(progress, "loading models")
    e = dict(extraction)
    cloth_model, cloth_colour, device = e.pop("cloth_model"), e.pop("cloth_colour"), e.pop("device")
    min_face = min_face_px(e.pop("min_face"), info.width, info.height)
    analyzer = FaceAnalyzer(detector=e.pop("detector"), upsample=e.pop("upsample"), min_face=min_face,
                            encoder=e.pop("encoder"), device=device, track_score=e.pop("track_score"))
    embedder = make_embedder(cloth_model, device, cloth_colour) if with_clothing else None
    _stage(progress, "extracting")
    ex = extract(video, info, analyzer, embedder, progress=update,
                 timings=timings, workers=workers, **e)
    name = embedder.name if embedder else None
    if not (save and ex.faces):
        return ex, [], name
    return ex, cache.save(stage.root if stage is not None else dest, key, ex, embedder=name), name
