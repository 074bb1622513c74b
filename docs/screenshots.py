#!/usr/bin/env python3
"""The review page's screenshots in the README (docs/review-*.png), made
from samples/demo.mp4 only (re-encoded as VP8 WebM so that Chromium plays it).

    python docs/screenshots.py
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clusterer import run  # noqa: E402
from clusterer.review.actions import Session  # noqa: E402
from clusterer.review.server import ReviewServer  # noqa: E402


def webm(src: Path, dest: Path) -> Path:
    import cv2

    cap = cv2.VideoCapture(str(src))
    fps, w = cap.get(cv2.CAP_PROP_FPS), None
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        w = w or cv2.VideoWriter(str(dest), cv2.VideoWriter_fourcc(*"VP80"), fps, frame.shape[1::-1])
        w.write(frame)
    cap.release()
    w.release()
    return dest


def main() -> int:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="shots-"))
    try:
        _, dest = run(webm(ROOT / "samples" / "demo.mp4", work / "demo.webm"), out=work / "out", mode="faces")
        s = Session(dest)
        a, b = (p["id"] for p in s.report()["persons"])
        s.apply("rename", {"person": a, "name": "Grace"})
        faces = next(p for p in s.report()["persons"] if p["id"] == "Grace")["faces"]
        s.apply("move", {"track": faces[-1]["track"], "to": "Grace (2)"})  # a split for the suggestion
        srv = ReviewServer(s)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1100, "height": 760}, bypass_csp=True)
            page.goto(srv.url)
            page.wait_for_selector("body[data-ready]")
            page.evaluate("Array.from(document.images).forEach(i => i.loading = 'eager')")
            page.wait_for_function("Array.from(document.images).every(i => i.complete)")
            face = page.locator('section.person[data-id="Grace"] img.face').nth(6)
            face.click()
            page.wait_for_function("document.getElementById('video').readyState >= 2")
            page.evaluate("document.getElementById('video').pause()")
            page.screenshot(path=str(ROOT / "docs" / "review-page.png"))
            other = page.locator(f'section.person[data-id="{b}"]')
            other.locator("select.merge-into").select_option("Grace")
            n = page.evaluate("document.body.dataset.actions || 0")
            other.locator("button.merge").click()
            page.wait_for_function(f"Number(document.body.dataset.actions || 0) > {n}")
            page.screenshot(path=str(ROOT / "docs" / "review-refused.png"), clip={"x": 0, "y": 0, "width": 1100,
                                                                                  "height": 260})
            browser.close()
        srv.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("docs/review-page.png, docs/review-refused.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
