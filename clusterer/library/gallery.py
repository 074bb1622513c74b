"""The library gallery, LIB/index.html: each library person, the videos they
appear in and when (a timeline a video), their crops, and a link to each
video's own gallery. Static: no server, no network, no JavaScript."""
from __future__ import annotations

from typing import Any

from ..output.report import clock


PAGE_MAX = 200
"""Library persons shown on the page (most faces first); library.json and
people/ hold them all. Keeps a page over thousands of hours light."""


def gallery_html(lib: dict[str, Any]) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("clusterer.library", "templates"),
                             autoescape=jinja2.select_autoescape(["html"]))
    span = {v["name"]: max([u["last"] for u in v["units"]] or [0.0]) for v in lib["videos"]}
    persons = []
    for p in lib["persons"][:PAGE_MAX]:
        rows = []
        for a in p["videos"]:
            total = max(span.get(a["video"], 0.0), 1e-6)
            rows.append({**a, "first_clock": clock(a["first"]), "last_clock": clock(a["last"]),
                         "bars": [{"left": round(100 * s / total, 3), "width": max(0.3, round(100 * (e - s) / total, 3)),
                                   "label": f"{clock(s)}–{clock(e)}"} for s, e in a["appearances"]]})
        # a video whose run split the person appears once per part, but counts once
        persons.append({"id": p["id"], "faces": p["faces"], "videos": rows,
                        "in_videos": len({a["video"] for a in p["videos"]}),
                        "rep": next((c for a in p["videos"] for c in a["crops"]), None)})
    return env.get_template("library.html").render(persons=persons, videos=lib["videos"],
                                                   settings=lib["settings"], total=len(lib["persons"]))
