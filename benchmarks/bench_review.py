#!/usr/bin/env python3
"""Correction speed in the review page (issue 18): a scripted user in
Chromium who knows the ground truth takes the default folders to the true
persons, with the "same person?" suggestions and without them, counting
every click, selection and typed name; and how long each action takes.

The user, with suggestions: answers the first suggestion (Yes when both
persons are one identity, No otherwise) until every person is right or none
is left. Without: for each identity split over several persons, merges the
smaller ones into the largest with the merge button (select the target,
click Merge): the fewest actions a user who already knows every pair can
take; finding the pairs by eye is not counted. Then, in both, what is still
split is merged with the merge button, and each face in a person of another
identity is moved (click the face, pick the target, Move face, or Move its
track when the whole track is that identity) to its identity's person, a new
person (its name typed), or unknown (no face there); a face in unknown
with an identity, to that identity's person.
BCubed F after each action is `cluster-video evaluate`'s.

    python -m benchmarks review RESULT_DIR GT.json [--append]

RESULT_DIR is a result folder of the video (its cache is reused; it is
copied, never changed).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from benchmarks.harness import commit, report
from clusterer.evaluate import evaluate_output, load_ground_truth, load_prediction
from clusterer.geometry import box_iou
from clusterer.output.export import output_dir
from clusterer.review.actions import Session
from clusterer.review.server import ReviewServer


def face_identities(dest: Path, gt_file: str) -> dict[str, str | None]:
    """Crop file → the ground-truth identity of its face (None: no face there)."""
    pred, sampled, fps = load_prediction(dest)
    gt = load_ground_truth(gt_file, sampled, fps)
    report = json.loads((dest / "clusters.json").read_text())
    out = {}
    for f in [g for p in report["persons"] for g in p["faces"]] + report["unknown"]:
        best = max(((box_iou(f["box"], g[2]), g[1]) for g in gt if g[0] == f["frame"]), default=(0, None))
        out[f["file"]] = best[1] if best[0] >= 0.3 else None
    return out


def identities(dest: Path, gt_file: str) -> dict[str, str]:
    """Person id → the ground-truth identity of most of its faces."""
    ident = face_identities(dest, gt_file)
    report = json.loads((dest / "clusters.json").read_text())
    return {p["id"]: Counter(ident[f["file"]] for f in p["faces"]).most_common(1)[0][0] for p in report["persons"]}


class User:
    """Drives the page; counts actions and times them."""

    def __init__(self, page, dest: Path, gt: str):
        self.page, self.dest, self.gt = page, dest, gt
        self.actions = 0
        self.round_trips: list[float] = []
        self.server: list[float] = []
        self.trace: list[tuple[int, float]] = []
        self.tried: set[tuple[str, str]] = set()

    def f(self) -> float:
        return float(evaluate_output(self.dest, self.gt, 0.3)["bcubed_f"])

    def act(self, clicks: int, do, name: str | None = None) -> None:
        page = self.page
        n = int(page.evaluate("document.body.dataset.actions || 0"))
        if name is not None:
            page.once("dialog", lambda d: d.accept(name))
            clicks += 1  # typing the name and OK
        t0 = time.perf_counter()
        do()
        page.wait_for_function(f"Number(document.body.dataset.actions || 0) > {n}")
        self.round_trips.append(time.perf_counter() - t0)
        m = re.search(r"done in ([0-9.]+) s", page.locator("#status").inner_text())
        if m:
            self.server.append(float(m.group(1)))
        self.actions += clicks
        self.trace.append((self.actions, self.f()))

    def merge_button(self, who: dict[str, str]) -> bool:
        """One merge with the merge button; False when nothing is split."""
        report = json.loads((self.dest / "clusters.json").read_text())
        size = {p["id"]: len(p["faces"]) for p in report["persons"]}
        groups: dict[str, list[str]] = {}
        for pid in size:
            groups.setdefault(who[pid], []).append(pid)
        for ident, pids in sorted(groups.items(), key=lambda kv: str(kv[0])):
            if len(pids) < 2 or ident is None:
                continue
            pids.sort(key=lambda p: (not not re.fullmatch(r"person_\d+", p), -size[p]))  # named, then biggest
            into, src = pids[0], pids[-1]
            sec = self.page.locator(f'section.person[data-id="{src}"]')
            sec.locator("select.merge-into").select_option(into)
            self.act(2, lambda: sec.locator("button.merge").click())
            return True
        return False

    def split_one(self) -> bool:
        """Move one face (or its whole track, when the track is all that
        identity) out of a person of another identity, to the person of its
        own identity, a new person, or unknown (no face). False when none is left."""
        report = json.loads((self.dest / "clusters.json").read_text())
        ident = face_identities(self.dest, self.gt)
        maj = {p["id"]: Counter(ident[f["file"]] for f in p["faces"]).most_common(1)[0][0] for p in report["persons"]}
        owner: dict[str | None, str] = {}
        for p in sorted(report["persons"], key=lambda p: -len(p["faces"])):
            owner.setdefault(maj[p["id"]], p["id"])
        maj["unknown"] = None
        for p in report["persons"] + [{"id": "unknown", "faces": report["unknown"]}]:
            for f in p["faces"]:
                j = ident[f["file"]]
                if j == maj[p["id"]]:
                    continue
                target = "unknown" if j is None else owner.get(j, "")
                if (f["file"], target) in self.tried:
                    continue
                self.tried.add((f["file"], target))
                whole = all(ident[g["file"]] == j for g in p["faces"] if g["track"] == f["track"])
                sec = self.page.locator(f'section.person[data-id="{p["id"]}"]')
                sec.locator(f'img.face[data-file="{f["file"]}"]').click()
                sec.locator("select.move-to").select_option(target)
                button = sec.locator("button.move-track" if whole else "button.move-face")
                name = re.sub(r"[^A-Za-z0-9]+", " ", str(j)).strip().title() if target == "" else None
                self.act(3, lambda: button.click(), name)  # the face, the target, the button
                return True
        return False

    def answer_suggestions(self, who: dict[str, str]) -> None:
        while self.f() < 1.0:  # the user stops once every person is right
            who.update(identities(self.dest, self.gt))
            sug = self.page.locator(".suggestion")
            if not sug.count():
                return
            first = sug.first
            a, b = first.get_attribute("data-a"), first.get_attribute("data-b")
            if who.get(a) is not None and who.get(a) == who.get(b):
                self.act(1, lambda: first.locator("button.yes").click())
            else:
                self.act(1, lambda: first.locator("button.no").click())


def session(browser, base: Path, gt: str, suggestions: bool, work: Path) -> dict:
    dest = output_dir(work, json.loads((base / "clusters.json").read_text())["video"]["path"])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copytree(base, dest)
    s = Session(dest)
    s.recluster()  # the default folders, by this code, from the cache
    who = identities(dest, gt)
    start = {"persons": len(who), "f": float(evaluate_output(dest, gt, 0.3)["bcubed_f"])}
    srv = ReviewServer(s)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        page = browser.new_page(viewport={"width": 1300, "height": 900}, bypass_csp=True)
        page.goto(srv.url)
        page.wait_for_selector("body[data-ready]")
        user = User(page, dest, gt)
        if suggestions:
            user.answer_suggestions(who)
        while user.f() < 1.0 and (user.merge_button(identities(dest, gt)) or user.split_one()):
            pass
        end = evaluate_output(dest, gt, 0.3)
        page.close()
    finally:
        srv.shutdown()
        srv.server_close()
    return {"suggestions": suggestions, **start, "actions": user.actions, "final_f": end["bcubed_f"],
            "final_persons": end["persons"], "identities": end["identities"],
            "round_trip_median": round(statistics.median(user.round_trips), 3) if user.round_trips else None,
            "round_trip_max": round(max(user.round_trips), 3) if user.round_trips else None,
            "server_median": round(statistics.median(user.server), 3) if user.server else None,
            "server_max": round(max(user.server), 3) if user.server else None,
            "n_actions_timed": len(user.round_trips), "trace": user.trace}


def latency(base: Path, work: Path, repeats: int = 5) -> dict[str, list[float]]:
    """Seconds per action (Session.apply, as the server runs it), each kind `repeats` times."""
    dest = output_dir(work, json.loads((base / "clusters.json").read_text())["video"]["path"])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copytree(base, dest)
    s = Session(dest)
    s.recluster()
    times: dict[str, list[float]] = {k: [] for k in ("rename", "move face", "move track", "merge", "hide")}
    for k in range(repeats):
        rep = s.report()
        p0, p1 = rep["persons"][0]["id"], rep["persons"][-1]["id"]
        times["rename"].append(s.apply("rename", {"person": p0, "name": f"Named {k}"}).seconds)
        named = f"Named {k}"
        rep = s.report()
        face = next(p for p in rep["persons"] if p["id"] == named)["faces"][k]
        times["move face"].append(s.apply("move", {"files": [face["file"]], "to": "unknown"}).seconds)
        rep = s.report()
        track = next(p for p in rep["persons"] if p["id"] == named)["faces"][-1]["track"]
        times["move track"].append(s.apply("move", {"track": track, "to": f"Split {k}"}).seconds)
        times["merge"].append(s.apply("merge", {"person": f"Split {k}", "into": named}).seconds)
        times["hide"].append(s.apply("hide", {"person": p1, "hidden": k % 2 == 0}).seconds)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("result", type=Path)
    ap.add_argument("gt")
    ap.add_argument("--append", action="store_true", help="put the section into benchmarks/RESULTS.md (replacing its previous run)")
    args = ap.parse_args()
    import shutil as sh

    from playwright.sync_api import sync_playwright

    chromium = sh.which("chromium") or sh.which("chromium-browser")
    work = Path(tempfile.mkdtemp(prefix="bench-review-"))
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        for sug in (True, False, True, False):  # alternated: the CPU is shared
            rows.append(session(browser, args.result.resolve(), args.gt, sug, work / "s"))
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "trace"}), flush=True)
        browser.close()
    times = latency(args.result.resolve(), work / "l")
    print(json.dumps(times), flush=True)
    load = os.getloadavg()
    lines = [f"## Issue 18: review in the browser — action latency and correction speed (`{commit()}`)\n",
             f"`python -m benchmarks review {args.result.name} …gt.json`: Chromium (Playwright) on the "
             f"review page, a scripted user who knows the ground truth; load average at the end "
             f"{load[0]:.1f} / {load[1]:.1f} (2 cores shared with other work).\n",
             "| run | suggestions | persons at start | BCubed F at start | actions (clicks, selections, names) "
             "| BCubed F at end | persons at end | click → page updated, median / max (s) "
             "| server (folders + re-cluster), median / max (s) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for k, r in enumerate(rows, 1):
        lines.append(f"| {k} | {'with' if r['suggestions'] else 'without'} | {r['persons']} | {r['f']:.4f} | "
                     f"{r['actions']} | {r['final_f']} | {r['final_persons']} | "
                     f"{r['round_trip_median']} / {r['round_trip_max']} | {r['server_median']} / {r['server_max']} |")
    for r in rows[:2]:
        lines.append(f"\nBCubed F after each action, {'with' if r['suggestions'] else 'without'} suggestions "
                     f"(actions so far: F): " + ", ".join(f"{n}: {f:.4f}" for n, f in r["trace"]))
    lines += ["", "Action latency (`Session.apply`: the folder change, re-clustering from the cache, "
                  "writing every file; 5 of each, seconds):", "",
              "| action | median | max |", "| --- | --- | --- |"]
    for k, v in times.items():
        lines.append(f"| {k} | {statistics.median(v):.3f} | {max(v):.3f} |")
    report("\n".join(lines) + "\n", args.append)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
