#!/usr/bin/env python3
"""Make samples/demo.mp4: two public-domain people, each back in several shots.

Grace Hopper (matplotlib's grace_hopper.jpg, US Navy photo) and Eileen
Collins (scikit-image's astronaut.png, NASA photo) appear alone and together
over eight shots with slow zoom, drift and light changes (no sensor noise:
it would triple the file size). Needs matplotlib
and scikit-image (the project's dev extras). Deterministic for a given seed.

    python samples/make_demo.py [samples/demo.mp4]
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

W, H, FPS = 512, 288, 12.0
SHOT_SECONDS = 2.5
# Who is on screen in each shot: h = Grace Hopper, a = the astronaut.
SHOTS = ["h", "a", "ha", "h", "a", "ah", "h", "a"]


def portraits() -> dict[str, np.ndarray]:
    """The two portraits as BGR images, from files the installed packages ship."""
    import matplotlib.cbook as cbook
    import skimage

    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        hopper = cv2.imdecode(np.frombuffer(fh.read(), np.uint8), cv2.IMREAD_COLOR)
    astro = cv2.imread(str(Path(skimage.__file__).parent / "data" / "astronaut.png"))
    # Head and shoulders only: the mission patch lower on the suit looks like a face to HOG.
    astro = astro[:270]
    return {"h": hopper, "a": astro}


def render(path: Path, seed: int = 3) -> None:
    rng = np.random.default_rng(seed)
    people = portraits()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
    if not writer.isOpened():
        sys.exit(f"cannot write {path}")
    per_shot = int(SHOT_SECONDS * FPS)
    for cast in SHOTS:
        bg = cv2.resize(rng.integers(40, 200, (3, 4, 3)).astype(np.uint8), (W, H),
                        interpolation=cv2.INTER_CUBIC)
        gain, zoom = rng.uniform(0.8, 1.15), rng.uniform(1.0, 1.1)
        for i in range(per_shot):
            u = i / (per_shot - 1)
            frame = bg.copy()
            for slot, who in enumerate(cast):
                img = people[who]
                s = (H * 0.8 / img.shape[0]) * (1 + (zoom - 1) * u)
                cw = W / len(cast)
                x0 = (slot + 0.5) * cw - img.shape[1] * s / 2 + 20 * u
                y0 = H - img.shape[0] * s
                m = np.float32([[s, 0, x0], [0, s, y0]])
                warped = cv2.warpAffine(img, m, (W, H))
                mask = cv2.warpAffine(np.full(img.shape[:2], 255, np.uint8), m, (W, H))
                frame[mask > 0] = warped[mask > 0]
            frame = np.clip(frame * gain, 0, 255).astype(np.uint8)
            writer.write(frame)
    writer.release()


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("demo.mp4"))
    render(out)
    print(f"{out}: {out.stat().st_size / 1e6:.2f} MB, {len(SHOTS) * SHOT_SECONDS:.0f} s")
