"""cluster-video review: the actions change the folders as a file manager
would (and a later run keeps them), the server refuses what is not its own
page's, and the page does it all in Chromium."""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.client
import json
import os
import shutil
import threading
from collections import Counter
from pathlib import Path

import pytest

from clusterer import run
from clusterer.cli import main
from clusterer.output.export import REPORT
from clusterer.review.actions import HIDDEN, NOT_SAME, Refused, Session
from clusterer.review.server import TOKEN_HEADER, ReviewServer
from clusterer.review.suggestions import suggest


@pytest.fixture(scope="session")
def demo_webm(request, tmp_path_factory):
    """The demo clip as VP8 WebM (the page plays it; Chromium plays no MPEG-4 Part 2).
    The encoding takes several CPU-seconds, so it is kept in pytest's cache
    (.pytest_cache/), named by the demo's SHA-256: made again only when the demo
    changes (or the cache is cleared, or off: then once a session)."""
    from conftest import DEMO, once

    cache = getattr(request.config, "cache", None)
    if cache is None:
        return once(tmp_path_factory, "demo-webm", lambda d: webm_copy(DEMO, d / "demo.webm"))
    digest = hashlib.sha256(DEMO.read_bytes()).hexdigest()[:16]
    dest = cache.mkdir(f"demo-webm-{digest}") / "demo.webm"
    # one worker makes it, under a lock: a second copy put in its place after
    # the first was run would change the file's time, and with it the feature
    # cache's key, under the first worker's result (its review then finds no cache)
    with open(dest.parent / "make.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not dest.is_file():
            part = webm_copy(DEMO, dest.parent / f"part-{os.getpid()}.webm")
            os.replace(part, dest)  # whole or absent
    return dest


@pytest.fixture(scope="session")
def demo_result(tmp_path_factory, demo_webm):
    """One faces-mode run of the WebM, shared (conftest.once): copy it to change it."""
    from conftest import once

    return once(tmp_path_factory, "review", lambda out: run(demo_webm, out=out, mode="faces")[1])


@pytest.fixture
def result(demo_result, tmp_path):
    """A fresh copy of the demo's result folder (cache included) for one test."""
    dest = tmp_path / demo_result.name
    shutil.copytree(demo_result, dest)
    return dest


def report(dest):
    return json.loads((dest / REPORT).read_text())


def frames(rep, pid):
    return {f["frame"] for p in rep["persons"] if p["id"] == pid for f in p["faces"]}


def listing(dest):
    return sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if "cache" not in p.parts)


def biggest_track(rep, pid):
    faces = next(p for p in rep["persons"] if p["id"] == pid)["faces"]
    t = Counter(f["track"] for f in faces).most_common(1)[0][0]
    return t, [f for f in faces if f["track"] == t]


# --- the actions, as folder changes ---------------------------------------------

def test_actions_are_folder_changes_that_a_rerun_keeps(result, demo_webm):
    s = Session(result)
    first = report(result)
    a, b = (p["id"] for p in first["persons"])
    s.apply("rename", {"person": a, "name": "Alice"})
    assert (result / "Alice").is_dir() and not (result / a).exists()
    assert frames(report(result), "Alice") == frames(first, a)
    # a track into a new person, one face into unknown
    track, faces = biggest_track(report(result), "Alice")
    s.apply("move", {"track": track, "to": "Carol"})
    assert sorted(p.name for p in (result / "Carol").glob("*.jpg")) == sorted(Path(f["file"]).name for f in faces)
    assert frames(report(result), "Carol") == {f["frame"] for f in faces}
    face = next(p for p in report(result)["persons"] if p["id"] == "Alice")["faces"][0]
    out = s.apply("move", {"files": [face["file"]], "to": "unknown"})
    assert (result / "unknown" / Path(face["file"]).name).is_file()
    assert [(f["frame"], f["reason"]) for f in out.report["unknown"]] == [(face["frame"], "moved-by-user")]
    # merge Carol back into Alice; hide the other person
    s.apply("merge", {"person": "Carol", "into": "Alice"})
    assert not list((result / "Carol").glob("*.jpg")) and "Carol" not in [p["id"] for p in report(result)["persons"]]
    s.apply("hide", {"person": b})
    assert (result / b / HIDDEN).is_file() and s.hidden() == {b}
    after = report(result)
    # the next run from the command line keeps every correction
    assert main([str(demo_webm), "--out", str(result.parent), "--mode", "faces", "--overwrite", "-q"]) == 0
    again = report(result)
    assert frames(again, "Alice") == frames(after, "Alice") == frames(first, a) - {face["frame"]}
    assert [f["frame"] for f in again["unknown"]] == [face["frame"]]
    assert Session(result).hidden() == {b}


def test_refused_actions_change_nothing(result):
    s = Session(result)
    a, b = (p["id"] for p in report(result)["persons"])
    s.apply("rename", {"person": a, "name": "Alice"})
    before = listing(result)
    cases = [("merge", {"person": b, "into": "Alice"}, "two faces of one frame"),  # on screen together
             ("merge", {"person": b, "into": b}, "itself"),
             ("move", {"files": ["Alice/nothing.jpg"], "to": "unknown"}, "no such face"),
             ("move", {"files": [], "to": "unknown"}, "no face to move"),
             ("move", {"track": 10_000, "to": "unknown"}, "no face to move"),
             ("move", {"files": [next(p for p in report(result)["persons"] if p["id"] == b)["faces"][0]["file"]],
                       "to": "unknown", "colour": "red"}, "bad arguments"),
             ("rename", {"person": b, "name": "Alice"}, "exists"),
             ("rename", {"person": b, "name": "../x"}, "folder name"),
             ("rename", {"person": b, "name": "person_009"}, "the tool gives"),
             ("rename", {"person": "nobody", "name": "Z"}, "no person"),
             ("explode", {}, "no action")]
    for action, args, why in cases:
        with pytest.raises(Refused, match=why):
            s.apply(action, args)
    assert listing(result) == before


def test_actions_take_under_a_second_here(result):
    """Each action re-clusters from the cache; on the demo clip it takes well
    under a second (benchmarks/RESULTS.md measures a 60 s composite)."""
    s = Session(result)
    a = report(result)["persons"][0]["id"]
    times = [s.apply("rename", {"person": a, "name": "Alice"}).seconds,
             s.apply("rename", {"person": "Alice", "name": "Ann"}).seconds]
    assert max(times) < 3.0, times  # generous: the CPU is shared while tests run


def test_suggestions_rank_the_split_person_first_and_remember_no(result):
    s = Session(result)
    a, b = (p["id"] for p in report(result)["persons"])
    s.apply("rename", {"person": a, "name": "Alice"})
    s.apply("move", {"track": biggest_track(report(result), "Alice")[0], "to": "Carol"})
    rep = report(result)
    got = suggest(result, rep, s.not_same_pairs())
    # Alice and Carol are one face split in two: first; Alice and the other are on screen together: never
    pairs = [{g["a"], g["b"]} for g in got]
    assert pairs[0] == {"Alice", "Carol"} and got[0]["distance"] < 0.3 and {"Alice", b} not in pairs
    assert all(g["distance"] > got[0]["distance"] for g in got[1:])
    s.apply("not-same", {"a": "Alice", "b": "Carol"})
    assert (result / NOT_SAME).is_file()
    assert {"Alice", "Carol"} not in [{g["a"], g["b"]} for g in suggest(result, report(result), s.not_same_pairs())]


# --- the server's guards ----------------------------------------------------------

@contextlib.contextmanager
def serving(dest, video=None):
    srv = ReviewServer(Session(dest, video))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def ask(srv, method, path, body=None, **headers):
    c = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=30)
    c.request(method, path, body=body, headers={k.replace("_", "-"): v for k, v in headers.items()})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data, r


def test_server_refuses_other_sites_and_rebinding(result):
    with serving(result) as srv:
        port = srv.server_address[1]
        assert srv.server_address[0] == "127.0.0.1"
        here = {"Host": f"127.0.0.1:{port}"}
        good = {**here, "Origin": f"http://127.0.0.1:{port}", "Content_Type": "application/json",
                TOKEN_HEADER: srv.token}
        pid = report(result)["persons"][0]["id"]
        body = json.dumps({"person": pid, "name": "Mallory"})
        before = listing(result)
        refused = [
            {**good, "Host": f"attacker.example:{port}"},  # DNS rebinding: right address, foreign name
            {**good, "Origin": "http://attacker.example"},  # another site's page
            {k: v for k, v in good.items() if k != "Origin"},
            {**good, "Origin": "null"},
            {**good, TOKEN_HEADER: "guess"},
            {k: v for k, v in good.items() if k != TOKEN_HEADER},
            {**good, "Content_Type": "text/plain"},  # a form post needs no preflight: refused
            {**good, "Sec_Fetch_Site": "cross-site"},
            {**good, "Sec_Fetch_Site": "same-site"},  # another port of this machine
        ]
        for headers in refused:
            status, data, _ = ask(srv, "POST", "/api/rename", body, **headers)
            assert status == 403, (headers, data)
        for length in ("-1", "x", str(2 << 20)):  # a body length to make it wait or fill memory: refused
            assert ask(srv, "POST", "/api/rename", body, **{**good, "Content_Length": length})[0] == 400
        assert listing(result) == before
        # reading is refused to a rebinding page and to other sites too
        for headers in ({"Host": f"attacker.example:{port}"}, {**here, "Sec_Fetch_Site": "cross-site"}):
            for path in ("/", "/api/state", "/video"):
                assert ask(srv, "GET", path, **headers)[0] == 403
        # the page holds the token; the right request goes through
        status, page, _ = ask(srv, "GET", "/", **here)
        assert status == 200 and srv.token.encode() in page
        assert ask(srv, "GET", "/", Host=f"localhost:{port}")[0] == 200
        status, data, _ = ask(srv, "POST", "/api/rename", body, **good)
        assert status == 200 and (result / "Mallory").is_dir()


def test_server_serves_crops_and_video_ranges_only(result, demo_webm):
    (result / "Notes").mkdir()
    (result / "Notes" / "link.jpg").symlink_to(demo_webm)
    with serving(result) as srv:
        here = {"Host": f"127.0.0.1:{srv.server_address[1]}"}
        crop = report(result)["persons"][0]["faces"][0]["file"]
        status, data, _ = ask(srv, "GET", "/files/" + crop, **here)
        assert status == 200 and data == (result / crop).read_bytes()
        for bad in ("/files/../" + result.name + "/" + crop, "/files/clusters.json", "/files/cache/features.npz",
                    "/files/Notes/link.jpg", "/files/%2e%2e/x.jpg"):
            assert ask(srv, "GET", bad, **here)[0] == 404, bad
        whole = Path(demo_webm).read_bytes()
        status, data, r = ask(srv, "GET", "/video", Range="bytes=100-199", **here)
        assert status == 206 and data == whole[100:200]
        assert r.getheader("Content-Range") == f"bytes 100-199/{len(whole)}"
        assert ask(srv, "GET", "/video", Range=f"bytes={len(whole)}-", **here)[0] == 416


def test_review_command_errors_are_one_line(tmp_path, capsys):
    assert main(["review", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith("cluster-video: error: ")
    assert main(["review", str(tmp_path / "none"), "--port", "70000"]) == 1


# --- the page, in Chromium ---------------------------------------------------------

def open_page(browser, srv):
    page = browser.new_page(viewport={"width": 1200, "height": 900}, bypass_csp=True)  # for wait_for_function
    page.goto(srv.url)
    page.wait_for_selector("body[data-ready]")
    return page


def act(page, click, dialog=None):
    """Click, answer a name prompt if one comes, and wait for the page to re-render."""
    n = int(page.evaluate("document.body.dataset.actions || 0"))
    if dialog is not None:
        page.once("dialog", lambda d: d.accept(dialog))
    click()
    page.wait_for_function(f"Number(document.body.dataset.actions || 0) > {n}")


def test_page_rename_move_merge_hide_and_suggestions(result, chromium, demo_webm):
    first = report(result)
    a, b = (p["id"] for p in first["persons"])
    with serving(result) as srv:
        page = open_page(chromium, srv)
        sec = page.locator(f'section.person[data-id="{a}"]')
        sec.locator("input.new-name").fill("Alice")
        act(page, lambda: sec.locator("button.rename").click())
        assert (result / "Alice").is_dir() and frames(report(result), "Alice") == frames(first, a)
        # a whole track to a new person Carol
        track, faces = biggest_track(report(result), "Alice")
        alice = page.locator('section.person[data-id="Alice"]')
        alice.locator(f'img.face[data-track="{track}"]').first.click()
        alice.locator("select.move-to").select_option("")
        act(page, lambda: alice.locator("button.move-track").click(), dialog="Carol")
        assert frames(report(result), "Carol") == {f["frame"] for f in faces}
        # the page suggests Alice / Carol; "no" is remembered
        sug = page.locator(".suggestion").first
        assert {sug.get_attribute("data-a"), sug.get_attribute("data-b")} == {"Alice", "Carol"}
        act(page, lambda: sug.locator("button.no").click())
        assert page.locator('.suggestion[data-a="Alice"][data-b="Carol"], '
                            '.suggestion[data-a="Carol"][data-b="Alice"]').count() == 0
        assert (result / NOT_SAME).is_file()
        (result / NOT_SAME).unlink()
        # merge Carol into Alice with the merge button
        carol = page.locator('section.person[data-id="Carol"]')
        carol.locator("select.merge-into").select_option("Alice")
        act(page, lambda: carol.locator("button.merge").click())
        assert frames(report(result), "Alice") == frames(first, a) and not list((result / "Carol").glob("*.jpg"))
        # split again and answer the suggestion "yes"
        alice.locator(f'img.face[data-track="{track}"]').first.click()
        alice.locator("select.move-to").select_option("")
        act(page, lambda: alice.locator("button.move-track").click(), dialog="Carol")
        page.reload()
        page.wait_for_selector("body[data-ready]")
        act(page, lambda: page.locator(".suggestion").first.locator("button.yes").click())
        assert frames(report(result), "Alice") == frames(first, a)
        # one face into unknown
        face = alice.locator("img.face").nth(3)
        moved = face.get_attribute("data-file")
        face.click()
        alice.locator("select.move-to").select_option("unknown")
        act(page, lambda: alice.locator("button.move-face").click())
        assert (result / "unknown" / Path(moved).name).is_file()
        assert page.locator(f'section.unknown img[data-file="unknown/{Path(moved).name}"]').count() == 1
        # a refused merge says why on the page, and moves nothing
        before = listing(result)
        other = page.locator(f'section.person[data-id="{b}"]')
        other.locator("select.merge-into").select_option("Alice")
        act(page, lambda: other.locator("button.merge").click())
        assert "two faces of one frame" in page.locator("#error").inner_text()
        assert listing(result) == before
        # hide the other person
        act(page, lambda: other.locator("button.hide").click())
        assert (result / b / HIDDEN).is_file()
        assert page.locator(f'details.hidden-persons section[data-id="{b}"]').count() == 1
        after = report(result)
        page.close()
    # a re-run with --overwrite keeps it all
    assert main([str(demo_webm), "--out", str(result.parent), "--mode", "faces", "--overwrite", "-q"]) == 0
    again = report(result)
    assert frames(again, "Alice") == frames(after, "Alice") and frames(again, b) == frames(after, b)
    assert [Path(f["file"]).name for f in again["unknown"]] == [Path(moved).name]
    assert (result / b / HIDDEN).is_file()


def webm_copy(src: Path, dest: Path) -> Path:
    """The clip re-encoded as VP8 WebM, a format every Chromium plays."""
    import cv2

    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS)
    w = None
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if w is None:
            w = cv2.VideoWriter(str(dest), cv2.VideoWriter_fourcc(*"VP80"), fps, (frame.shape[1], frame.shape[0]))
        w.write(frame)
    cap.release()
    w.release()
    return dest


def test_a_face_click_plays_the_video_from_its_time(result, chromium):
    with serving(result) as srv:
        page = open_page(chromium, srv)
        face = page.locator("section.person img.face").nth(7)
        t = float(face.get_attribute("data-time"))
        face.click()
        page.wait_for_function("document.getElementById('video').readyState >= 2")
        got = page.evaluate("document.getElementById('video').currentTime")
        assert page.evaluate("document.getElementById('video').error") is None
        assert t <= got < t + 1.0, (t, got)
        # a timeline bar plays from the appearance's start
        bar = page.locator("section.person .bar").last
        start = float(bar.get_attribute("data-start"))
        bar.click()
        page.wait_for_function(f"Math.abs(document.getElementById('video').currentTime - {start}) < 1.0")
        assert page.locator("section.person .axis .tick").count() >= 3  # the time axis
        page.close()


def test_static_page_plays_each_face_from_its_time(demo_result, chromium):
    """index.html without the server (file://): the player on top plays a face's
    and a timeline bar's time; the video is found by a relative path."""
    html = (demo_result / "index.html").read_text()
    assert '<video id="video"' in html and 'src="../../' in html  # relative: the tree may move as one
    page = chromium.new_page(viewport={"width": 1200, "height": 900})
    try:
        page.goto((demo_result / "index.html").as_uri())
        face = page.locator("section.person details").nth(5)
        face.locator("summary").click()
        link = face.locator("a.play")
        t = float(link.get_attribute("data-t"))
        link.click()
        page.wait_for_function("document.getElementById('video').readyState >= 2")
        assert page.evaluate("document.getElementById('video').error") is None
        got = page.evaluate("document.getElementById('video').currentTime")
        assert t <= got < t + 1.0, (t, got)
        assert page.url.endswith("index.html")  # played in the page, not navigated away
        bar = page.locator("section.person a.bar").last
        start = float(bar.get_attribute("data-t"))
        bar.click()
        page.wait_for_function(f"Math.abs(document.getElementById('video').currentTime - {start}) < 1.0")
        assert page.locator("#note").is_hidden()
    finally:
        page.close()
