"""The HTML gallery and appearances.csv."""
from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser
from urllib.parse import unquote

import pytest

from clusterer.output.report import appearances, appearances_csv, clock, gallery_html


# --- appearances -------------------------------------------------------------

def test_appearances_merge_short_gaps():
    # sampled every 0.5 s: seen 0–1.5 s, a 1.5 s gap (merged at merge_gap 2), then 10–10.5 s
    times = [0.0, 0.5, 1.0, 1.5, 3.0, 10.0, 10.5]
    assert appearances(times, 0.5, 2.0) == [(0.0, 3.5, 5), (10.0, 11.0, 2)]
    assert appearances(times, 0.5, 1.0) == [(0.0, 2.0, 4), (3.0, 3.5, 1), (10.0, 11.0, 2)]


def test_appearances_csv_rows():
    report = {"settings": {"fps": 2.0}, "video": {"path": "clips/in.mp4"},
              "persons": [{"id": "Alice", "faces": [{"time": t} for t in (0.0, 0.5, 3661.0)]},
                          {"id": "person_002", "faces": [{"time": 5.0}]}]}
    rows = list(csv.reader(io.StringIO(appearances_csv(report, merge_gap=2.0))))
    assert rows[0] == ["person", "start", "end", "duration", "faces", "start_hms", "end_hms", "video"]
    assert rows[1:] == [["Alice", "0.000", "1.000", "1.000", "2", "00:00:00.000", "00:00:01.000", "clips/in.mp4"],
                        ["Alice", "3661.000", "3661.500", "0.500", "1", "01:01:01.000", "01:01:01.500", "clips/in.mp4"],
                        ["person_002", "5.000", "5.500", "0.500", "1", "00:00:05.000", "00:00:05.500", "clips/in.mp4"]]
    assert clock(59.9995) == "00:01:00.000"


# --- the page ----------------------------------------------------------------

def test_page_marks_each_face_by_its_quality():
    """A face too poor to shape its person's encoding (under --min-quality),
    placed by its track or clothes, says so on the page; a report without
    qualities (an older clusters.json) still renders."""
    def face(t, q, file):
        return {"time": t, "frame": int(2 * t), "file": file, "assigned": "clothing", "quality": q}

    report = {"settings": {"fps": 2.0, "min_quality": 0.35}, "video": {"path": "in.mp4", "duration": 10.0},
              "sampled": [0, 1, 2], "unknown": [],
              "persons": [{"id": "person_001", "faces": [face(0.0, 0.8, "person_001/a.jpg"),
                                                         face(0.5, 0.31, "person_001/b.jpg")]}]}
    html = gallery_html(report)
    assert "quality 0.80" in html and "quality 0.31" in html
    assert html.count("under --min-quality 0.35") == 1
    for f in report["persons"][0]["faces"]:
        del f["quality"]
    del report["settings"]["min_quality"]
    assert "quality" not in gallery_html(report).split("<body>")[1]


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href"):
            if a.get(key) and not a[key].startswith("#"):
                self.refs.append(a[key])


@pytest.fixture
def demo_page(demo_cli_run):
    return demo_cli_run[1]


def test_page_links_resolve(demo_page):
    html = (demo_page / "index.html").read_text()
    parser = Links()
    parser.feed(html)
    assert len(parser.refs) > 50
    for ref in parser.refs:
        assert "://" not in ref, ref  # nothing from the network
        assert (demo_page / unquote(ref.split("#t=")[0])).exists(), ref  # the video's links carry a time
    report = json.loads((demo_page / "clusters.json").read_text())
    for p in report["persons"]:
        assert f'id="{p["id"]}"' in html


def test_page_says_how_to_see_and_export_corrections(demo_page):
    """The header names the commands that go with correcting folders, and each exists."""
    from clusterer.cli import build_labels_parser, build_sheet_parser

    html = (demo_page / "index.html").read_text()
    for parser in (build_sheet_parser(), build_labels_parser()):
        assert parser.prog in html


def test_page_in_headless_browser(demo_page, tmp_path, chromium):
    page = chromium.new_page(viewport={"width": 1100, "height": 900})
    try:
        page.goto((demo_page / "index.html").as_uri())
        page.evaluate("Array.from(document.images).forEach(i => i.loading = 'eager')")
        page.wait_for_function("Array.from(document.images).every(i => i.complete)")
        rows = page.locator("section.person:not(.unknown)").count()
        broken = page.evaluate("Array.from(document.images).filter(i => i.naturalWidth === 0).length")
        total = page.evaluate("document.images.length")
        page.locator(".strip summary").first.click()  # a face opens its time and clothing crop
        info = page.locator(".strip details[open] .info").first.inner_text()
        shot = tmp_path / "gallery.png"
        page.screenshot(path=str(shot), full_page=True)
    finally:
        page.close()
    report = json.loads((demo_page / "clusters.json").read_text())
    assert rows == len(report["persons"]) == 2
    assert total > 50 and broken == 0
    assert "frame" in info and shot.stat().st_size > 10_000
