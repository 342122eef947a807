"""`painterly bench video`: how steady each method's videos are, and what it costs.

(a) Synthetic clips with exactly known motion and occlusions (a pan, a zoom, an object over a panning
    background): the warping error (Lai et al. 2018) of frame-by-frame and temporal outputs, against the
    *stable result* (the method applied once to the whole scene, then moved the same way); and, on the
    object clip, how much of the old content the temporal output carries into uncovered pixels (ghosting).
(b) A real clip (shared/data/videos/bigbuckbunny.mp4): warping error with flow from Farneback, an
    estimator the product does not use (it uses DIS), against the input video's own warping error.
(c) Style strength: style statistics (VGG mean/std per channel, against the painting) of temporal frames
    relative to frame-by-frame ones, so that stability is not bought by washing the style out.
(d) Frames/s at 640x360 with consistency on.

Outputs are compared losslessly (no encoding), so the ratios are not flattered by codec noise.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from .. import images, methods
from ..examples import bundled
from ..pipeline import Painter, make_request
from ..temporal import metrics, synthetic
from ..video import Frames
from ..video_paint import paint_frames

BUNNY = Path(__file__).resolve().parents[3] / "shared" / "data" / "videos" / "bigbuckbunny.mp4"

#: The configurations measured: label -> (method, styles, options). Model methods name a shipped model.
def configs(quick: bool = False) -> dict[str, tuple[str, list, dict]]:
    style = str(bundled("starry_night.jpg"))
    out: dict[str, tuple[str, list, dict]] = {
        "magenta": ("magenta", [style], {}),
        "26 styles (starry_swirls)": ("model", [], {"model": "starry_swirls"}),
        "johnson (starry_night)": ("model", [], {"model": "starry_night"}),
        "adain": ("adain", [style], {}),
        "wct": ("wct", [style], {}),
        "cyclegan (vangogh)": ("cyclegan", [], {"model": "vangogh"}),
        "gatys": ("gatys", [style], {"steps": 6 if quick else 30}),
    }
    return {k: v for k, v in out.items() if v[0] in methods.names()}


def _request(cfg: tuple[str, list, dict], size: int, device: str, **extra: Any):
    method, styles, opts = cfg
    return make_request(None, styles, method=method, size=size, device=device, **opts, **extra)


def _paint(req, frames: Sequence[np.ndarray], temporal: bool, consistency: Optional[float] = None) -> list[np.ndarray]:
    kw = {} if consistency is None else {"consistency": consistency}
    return [o for _, o, _ in paint_frames(req, enumerate(frames), temporal=temporal, **kw)]


class StyleStats:
    """Distance of a frame's VGG feature statistics (mean and std per channel on relu1_1..relu4_1) to a
    painting's: the style strength AdaIN matches, cheap enough for every frame."""

    LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")

    def __init__(self, painting: Path, device: str = "cpu"):
        from ..features import Encoder
        self.enc = Encoder(layers=self.LAYERS).to(device).eval()
        self.device = device
        self.target = self._stats(images.load_image(painting, "painting", 256))

    @torch.no_grad()
    def _stats(self, t: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        f = self.enc(t.to(self.device))
        return [(f[n].mean((2, 3)), f[n].std((2, 3))) for n in self.LAYERS]

    def distance(self, frame: np.ndarray) -> float:
        s = self._stats(images.load_image(frame, "frame"))
        return float(sum(((m - tm) ** 2).mean() + ((d - td) ** 2).mean()
                         for (m, d), (tm, td) in zip(s, self.target)))

    def mean_distance(self, frames: Sequence[np.ndarray], every: int = 4) -> float:
        return float(np.mean([self.distance(f) for f in frames[::every]]))

    def energy(self, frames: Sequence[np.ndarray], every: int = 4) -> float:
        """Texture energy: the mean per-channel std of the features (what washing out lowers)."""
        return float(np.mean([np.mean([float(d.mean()) for _, d in self._stats(images.load_image(f, "frame"))])
                              for f in frames[::every]]))

    def compare(self, steady: Sequence[np.ndarray], alone: Sequence[np.ndarray]) -> dict:
        """Style strength of temporal frames relative to frame-by-frame ones (1 = the same)."""
        return {"texture_energy_ratio": self.energy(steady) / self.energy(alone),
                "distance_to_painting_ratio": self.mean_distance(steady) / self.mean_distance(alone)}


def synthetic_clip(label: str, cfg, clip: synthetic.Clip, scene: np.ndarray, sprite: np.ndarray, device: str,
                   stats: StyleStats) -> dict:
    """One method on one synthetic clip: warping errors of frame-by-frame, temporal and stable results."""
    sc, sp = synthetic.pictures(clip, scene, sprite)
    frames = clip.render(sc, sp)
    flows, masks = clip.truth()
    req = _request(cfg, max(clip.size), device)
    t0 = time.perf_counter()
    alone = _paint(req, frames, False)
    t1 = time.perf_counter()
    steady = _paint(req, frames, True)
    t2 = time.perf_counter()
    whole = Painter(_request(cfg, max(clip.scene_size()), device))
    styled_scene = np.asarray(whole(sc).image)
    styled_sprite = np.asarray(Painter(_request(cfg, max(sp.shape[:2]), device))(sp).image) if sp is not None \
        and clip.kind == "object" else None
    stable = clip.render(styled_scene, styled_sprite)
    e = {k: metrics.warping_errors(v, flows, masks) for k, v in
         (("frame_by_frame", alone), ("temporal", steady), ("stable", stable))}
    s = metrics.mean(e["stable"])
    row = {"method": label, "clip": clip.kind, "frames": clip.frames, "size": list(clip.size),
           "warping_error": {k: metrics.mean(v) for k, v in e.items()},
           "ratio_to_stable": {"frame_by_frame": metrics.mean(e["frame_by_frame"]) / s,
                               "temporal": metrics.mean(e["temporal"]) / s},
           "per_frame": e,
           "seconds_per_frame": {"frame_by_frame": (t1 - t0) / len(frames), "temporal": (t2 - t1) / len(frames)},
           "style": stats.compare(steady, alone)}
    if clip.kind == "object":
        rv = clip.revealed()
        diff = [((a.astype(np.float32) - b.astype(np.float32)) / 255.0) ** 2 for a, b in zip(steady[1:], alone[1:])]
        new = np.mean([d.mean(-1)[r > 0].mean() for d, r in zip(diff, rv) if r.any()])
        rest = np.mean([d.mean(-1)[r == 0].mean() for d, r in zip(diff, rv)])
        row["ghosting"] = {"revealed": float(new), "elsewhere": float(rest), "ratio": float(new / rest)}
    return row


def real_clip(label: str, cfg, frames: list[np.ndarray], flows, masks, own: float, device: str, size: int,
              stats: StyleStats) -> dict:
    req = _request(cfg, size, device)
    alone, steady = _paint(req, frames, False), _paint(req, frames, True)
    e_alone = metrics.warping_errors(alone, flows, masks)
    e_steady = metrics.warping_errors(steady, flows, masks)
    return {"method": label, "frames": len(frames), "size": list(frames[0].shape[1::-1]),
            "warping_error": {"frame_by_frame": metrics.mean(e_alone), "temporal": metrics.mean(e_steady),
                              "input": own},
            "ratio_to_input": {"frame_by_frame": metrics.mean(e_alone) / own, "temporal": metrics.mean(e_steady) / own},
            "per_frame": {"frame_by_frame": e_alone, "temporal": e_steady},
            "style": stats.compare(steady, alone)}


def speed(label: str, cfg, frames: list[np.ndarray], device: str) -> dict:
    """Frames/s with consistency on at the frames' size (640x360), after the first frame (warm-up)."""
    req = _request(cfg, max(frames[0].shape[:2]), device)
    times = []
    t = time.perf_counter()
    for _ in paint_frames(req, enumerate(frames), temporal=True):
        now = time.perf_counter()
        times.append(now - t)
        t = now
    per = float(np.mean(times[1:])) if len(times) > 1 else times[0]
    return {"method": label, "size": list(frames[0].shape[1::-1]), "frames": len(frames), "fps": 1.0 / per,
            "first_frame_s": times[0]}


def _bunny(n: int, size: int, start: float) -> list[np.ndarray]:
    out = []
    for _, f in Frames(BUNNY, start, on_error="continue").read():
        if f is None:
            continue
        t = images.resize(images.load_image(f, "frame"), images.fit_size(f.shape[0], f.shape[1], size))
        out.append((t[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))
        if len(out) >= n:
            break
    return out


def video_benchmark(quick: bool = False, device: str = "cpu", only: Optional[Sequence[str]] = None,
                    progress: Optional[Callable[[str, dict, dict], None]] = None) -> dict:
    """Every measurement above, as one JSON-ready dict (see the module docstring). `progress(kind, row,
    result so far)` after each measurement, so a long run can keep what it has."""
    from . import _machine
    cfgs = {k: v for k, v in configs(quick).items() if not only or v[0] in only or k in only}
    scene = np.asarray(images.open_image(bundled("tubingen.jpg")).convert("RGB"))
    sprite = np.asarray(images.open_image(bundled("golden_gate.jpg")).convert("RGB"))
    stats = StyleStats(bundled("starry_night.jpg"), device)
    size = (96, 64) if quick else (160, 96)
    n = {"pan": 8 if quick else 24, "zoom": 6 if quick else 12, "object": 6 if quick else 12}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    result: dict = {"machine": _machine(), "load_average_at_start": load, "quick": quick,
                    "note": "the machine was shared (load average above); seconds and frames/s are pessimistic",
                    "synthetic": [], "real": [], "speed": []}

    def report(kind: str, row: dict) -> None:
        result[kind].append(row)
        if progress:
            progress(kind, row, result)
    for label, cfg in cfgs.items():
        for kind in synthetic.KINDS:
            clip = synthetic.Clip(kind, size, n[kind])
            report("synthetic", synthetic_clip(label, cfg, clip, scene, sprite, device, stats))
    real_size, real_n = (160, 6) if quick else (256, 12)
    frames = _bunny(real_n, real_size, 1.0)
    flows, masks = metrics.estimated_flows(frames, "farneback")
    own = metrics.mean(metrics.warping_errors(frames, flows, masks))
    result["real_clip"] = {"file": "shared/data/videos/bigbuckbunny.mp4 (CC-BY 3.0, Blender Foundation)",
                           "start_s": 1.0, "frames": len(frames), "size": list(frames[0].shape[1::-1]),
                           "flow": "farneback (the product uses dis)", "input_warping_error": own}
    for label, cfg in cfgs.items():
        report("real", real_clip(label, cfg, frames, flows, masks, own, device, real_size, stats))
    fast = _bunny(3 if quick else 8, 640, 2.0)
    for label, cfg in cfgs.items():
        if cfg[0] == "gatys" and quick:
            continue
        report("speed", speed(label, cfg, fast[:3] if cfg[0] == "gatys" else fast, device))
    result["load_average_at_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return result
