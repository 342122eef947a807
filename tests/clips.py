"""Test clips made on the fly: a small H.264 pan over noise with an AAC tone, shared by the video,
engine and web tests (`make_clip`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def make_clip(path: Path, n: int = 12, w: int = 64, h: int = 48, fps: int = 10, audio: bool = True,
              moving: bool = True) -> Path:
    """A small H.264 clip panning over noise (or a still), with a 440 Hz AAC tone as long as the video."""
    import av
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (h, w + 2 * n, 3), dtype=np.uint8)
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        a = c.add_stream("aac", rate=16000) if audio else None
        if a is not None:
            a.layout = "mono"
        for i in range(n):
            img = np.ascontiguousarray(base[:, 2 * i:2 * i + w] if moving else base[:, :w])
            for p in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
        if a is not None:
            total = 16000 * n // fps
            tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(total) / 16000)).astype(np.float32)
            for k in range(0, total, 1024):
                f = av.AudioFrame.from_ndarray(tone[None, k:k + 1024], format="fltp", layout="mono")
                f.sample_rate, f.pts = 16000, k
                for p in a.encode(f):
                    c.mux(p)
            for p in a.encode():
                c.mux(p)
    return path
