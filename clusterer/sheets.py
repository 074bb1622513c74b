"""Contact sheets: every crop of a result folder's person folders in one grid,
frame and time under each, to check a whole person at a glance while
correcting (`cluster-video sheet OUTPUT_DIR -o SHEETS_DIR`).

Sheets show the folders as they are now (crops moved by hand included),
one JPEG per folder (several for a large one, PER_SHEET crops each), written
into a new or empty folder so that nothing there is replaced.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import ClusterVideoError
from .images import read_bgr
from .naming.labels import crop_records
from .output.report import clock

TILE = 112
"""Side of a crop's square on the sheet, in pixels."""

COLUMNS = 10
"""Crops per row."""

PER_SHEET = 200
"""Crops per sheet image (a larger folder gets several)."""

_CAPTION = 18
"""Pixels under each crop for its frame and time."""


def _captions(dest: Path) -> dict[str, str]:
    """Crop file name → 'frame  time', from the folder's clusters.json."""
    try:
        return {name: f"{r['frame']}  {_short(clock(float(r['time'])))}" for name, r in crop_records(dest).items()}
    except (KeyError, TypeError, ValueError) as e:
        raise ClusterVideoError(f"{dest}: not a cluster-video result ({type(e).__name__}: {e})") from None


def _short(hms: str) -> str:
    """HH:MM:SS.mmm → MM:SS.s under an hour, H:MM:SS after (it must fit under a crop)."""
    return hms[3:10] if hms.startswith("00:") else hms[:8].lstrip("0")


def _tile(path: Path, caption: str) -> np.ndarray:
    """One crop fitted into TILE×TILE, its caption under it (BGR)."""
    import cv2


    tile = np.full((TILE + _CAPTION, TILE, 3), 255, np.uint8)
    img = read_bgr(path, max_side=TILE)
    if img is not None and img.size:
        s = TILE / max(img.shape[:2])
        img = cv2.resize(img, (max(1, int(img.shape[1] * s)), max(1, int(img.shape[0] * s))),
                         interpolation=cv2.INTER_AREA)
        y, x = (TILE - img.shape[0]) // 2, (TILE - img.shape[1]) // 2
        tile[y:y + img.shape[0], x:x + img.shape[1]] = img
    cv2.putText(tile, caption, (3, TILE + 13), cv2.FONT_HERSHEY_SIMPLEX, 0.36, (40, 40, 40), 1, cv2.LINE_AA)
    return tile


def sheet(paths: list[Path], captions: dict[str, str]) -> np.ndarray:
    """The grid image of these crops (BGR), COLUMNS wide."""
    tiles = [_tile(p, captions.get(p.name, p.stem[:16])) for p in paths]
    blank = np.full_like(tiles[0], 255)
    tiles += [blank] * (-len(tiles) % COLUMNS)
    return np.vstack([np.hstack(tiles[k:k + COLUMNS]) for k in range(0, len(tiles), COLUMNS)])


def write_sheets(dest: str | Path, out: str | Path) -> dict[str, int]:
    """A sheet (or several) per folder of `dest` with crops, into the new or
    empty folder `out`; returns folder → crops shown."""
    import cv2

    dest, out = Path(dest), Path(out)
    captions = _captions(dest)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ClusterVideoError(f"{out}: exists and is not an empty folder; give a new one (nothing is replaced)")
    folders = [p for p in sorted(dest.iterdir()) if p.is_dir() and p.name != "cache" and not p.name.startswith(".")]
    done: dict[str, int] = {}
    for folder in folders:
        crops = [f for f in sorted(folder.iterdir()) if f.is_file() and f.suffix.lower() == ".jpg"]
        # the run's own order: by time, so a person's sheet reads like their appearances
        crops.sort(key=lambda f: (int(captions[f.name].split()[0]) if f.name in captions else 1 << 60, f.name))
        if not crops:
            continue
        out.mkdir(parents=True, exist_ok=True)
        for k in range(0, len(crops), PER_SHEET):
            part = f"_{k // PER_SHEET + 1:02d}" if len(crops) > PER_SHEET else ""
            cv2.imwrite(str(out / f"{folder.name}{part}.jpg"), sheet(crops[k:k + PER_SHEET], captions),
                        [cv2.IMWRITE_JPEG_QUALITY, 88])
        done[folder.name] = len(crops)
    if not done:
        raise ClusterVideoError(f"{dest}: no crops in any folder")
    return done
