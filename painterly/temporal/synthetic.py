"""Clips whose motion is known exactly, for tests and `painterly bench video`: a camera pan, a zoom,
and an object moving over a panning background. Each clip is a recipe (`Clip`): `render(scene,
sprite)` draws its frames from any pictures, so the same motion applied to a stylised scene gives
the *stable result* (the method applied once, then moved); `truth()` gives the exact flows t -> t+1
and where each pixel stays visible."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

KINDS = ("pan", "zoom", "object")


@dataclass(frozen=True)
class Clip:
    """`frames` frames of `size` (w, h) seen through a window moving over a scene.

    pan: the window moves `speed` px per frame (x, y). zoom: the scale grows by `zoom` per frame
    about the centre. object: a disk of `radius` px cut from the sprite crosses the frame at
    `object_speed` px per frame over a background that pans at `speed`."""

    kind: str
    size: tuple[int, int] = (160, 96)
    frames: int = 24
    speed: tuple[float, float] = (2.4, 0.6)
    zoom: float = 0.012
    object_speed: tuple[float, float] = (4.2, 0.3)
    radius: float = 22.0

    def scene_size(self) -> tuple[int, int]:
        """(w, h) the scene must have so that every frame's window lies inside it."""
        w, h = self.size
        if self.kind == "zoom":
            return w, h
        span = np.abs(np.array(self.speed)) * (self.frames - 1)
        return int(np.ceil(w + span[0])) + 2, int(np.ceil(h + span[1])) + 2

    def sprite_size(self) -> tuple[int, int]:
        side = int(np.ceil(2 * self.radius)) + 2
        return side, side

    # -------------------------------------------------------------------- geometry
    def _offset(self, t: int) -> np.ndarray:
        """Scene position of the window's top-left corner at frame t (pan and object clips)."""
        sx, sy = self.speed
        return np.array([1.0 + (t * sx if sx >= 0 else (self.frames - 1 - t) * -sx),
                         1.0 + (t * sy if sy >= 0 else (self.frames - 1 - t) * -sy)])

    def _scale(self, t: int) -> float:
        return 1.0 + self.zoom * t

    def _centre(self, t: int) -> np.ndarray:
        """Object centre in frame coordinates at frame t."""
        w, h = self.size
        vx, vy = self.object_speed
        start = np.array([w - self.radius - 2 if vx < 0 else self.radius + 2, h / 2 - vy * (self.frames - 1) / 2])
        return start + t * np.array([vx, vy])

    def _alpha(self, t: int) -> np.ndarray:
        """Coverage of the object at frame t (H, W) in [0, 1], anti-aliased over one pixel."""
        w, h = self.size
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        cx, cy = self._centre(t)
        d = np.sqrt((xs - cx) ** 2 + (ys - cy) ** 2)
        return np.clip(self.radius + 0.5 - d, 0, 1).astype(np.float32)

    # -------------------------------------------------------------------- drawing
    def render(self, scene: np.ndarray, sprite: Optional[np.ndarray] = None) -> list[np.ndarray]:
        """The clip's frames (H, W, 3) uint8 drawn from `scene` (at least `scene_size()`) and, for the
        object clip, `sprite` (at least `sprite_size()`): bicubic resampling, so motion is sub-pixel."""
        import cv2
        w, h = self.size
        src = scene.astype(np.float32)
        out = []
        for t in range(self.frames):
            if self.kind == "zoom":
                s = self._scale(t)
                c = np.array([(w - 1) / 2, (h - 1) / 2])
                m = np.array([[1 / s, 0, c[0] - c[0] / s], [0, 1 / s, c[1] - c[1] / s]], np.float32)
            else:
                ox, oy = self._offset(t)
                m = np.array([[1, 0, ox], [0, 1, oy]], np.float32)
            f = cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REFLECT)
            if self.kind == "object":
                if sprite is None:
                    raise ValueError("the object clip needs a sprite")
                cx, cy = self._centre(t)
                k = np.array([[1, 0, self.radius + 1 - cx], [0, 1, self.radius + 1 - cy]], np.float32)
                obj = cv2.warpAffine(sprite.astype(np.float32), k, (w, h),
                                     flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT)
                a = self._alpha(t)[..., None]
                f = a * obj + (1 - a) * f
            out.append(np.clip(f + 0.5, 0, 255).astype(np.uint8))
        return out

    def truth(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Exact flows t -> t+1 ((H, W, 2), pixels) and masks (H, W) of the pixels of frame t that are
        visible in frame t+1 (inside it, not covered by or part of the object's rim)."""
        w, h = self.size
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        flows, masks = [], []
        for t in range(self.frames - 1):
            if self.kind == "zoom":
                c = np.array([(w - 1) / 2, (h - 1) / 2], np.float32)
                r = self._scale(t + 1) / self._scale(t) - 1
                flow = np.stack(((xs - c[0]) * r, (ys - c[1]) * r), -1)
            else:
                d = self._offset(t + 1) - self._offset(t)
                flow = np.broadcast_to(-d.astype(np.float32), (h, w, 2)).copy()
            mask = np.ones((h, w), np.float32)
            if self.kind == "object":
                a0 = self._alpha(t)
                v = np.asarray(self.object_speed, np.float32)
                flow[a0 >= 0.5] = v
                tx, ty = xs + flow[..., 0], ys + flow[..., 1]
                from .warp import warp
                a1_at = warp(self._alpha(t + 1), flow)
                rim = (a0 > 0.0) & (a0 < 1.0)
                covered = (a0 < 0.5) & (a1_at > 0.0)        # background hidden by the object next frame
                mask[rim | covered] = 0
            tx, ty = xs + flow[..., 0], ys + flow[..., 1]
            mask[(tx < 0) | (tx > w - 1) | (ty < 0) | (ty > h - 1)] = 0
            flows.append(flow.astype(np.float32))
            masks.append(mask)
        return flows, masks

    def revealed(self) -> list[np.ndarray]:
        """Per frame t >= 1, (H, W) 1 where frame t shows what frame t-1 did not (entering at an edge,
        uncovered behind the object): where a stable video must be painted fresh, not carried over."""
        w, h = self.size
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        out = []
        for t in range(1, self.frames):
            if self.kind == "zoom":
                r = self._scale(t - 1) / self._scale(t) - 1
                back = np.stack(((xs - (w - 1) / 2) * r, (ys - (h - 1) / 2) * r), -1)
            else:
                d = self._offset(t) - self._offset(t - 1)
                back = np.broadcast_to(d.astype(np.float32), (h, w, 2)).copy()
            new = np.zeros((h, w), bool)
            if self.kind == "object":
                from .warp import warp
                a1 = self._alpha(t)
                back[a1 >= 0.5] = -np.asarray(self.object_speed, np.float32)
                new |= (a1 < 0.5) & (warp(self._alpha(t - 1), back) > 0.0)
            px, py = xs + back[..., 0], ys + back[..., 1]
            new |= (px < 0) | (px > w - 1) | (py < 0) | (py > h - 1)
            out.append(new.astype(np.float32))
        return out


def clip(kind: str, size: tuple[int, int] = (160, 96), frames: int = 24) -> Clip:
    """One of the synthetic clips (`KINDS`) at `size` (w, h)."""
    if kind not in KINDS:
        raise ValueError(f"unknown synthetic clip {kind!r}: use one of {', '.join(KINDS)}")
    return Clip(kind, size, frames)


def pictures(c: Clip, scene: np.ndarray, sprite: Optional[np.ndarray] = None) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """`scene` (and `sprite`) resized and centre-cropped to what clip `c` needs, uint8 RGB."""
    def fit(img: np.ndarray, wh: tuple[int, int]) -> np.ndarray:
        import cv2
        w, h = wh
        ih, iw = img.shape[:2]
        s = max(w / iw, h / ih)
        r = cv2.resize(img, (max(w, round(iw * s)), max(h, round(ih * s))), interpolation=cv2.INTER_AREA)
        top, left = (r.shape[0] - h) // 2, (r.shape[1] - w) // 2
        return np.ascontiguousarray(r[top:top + h, left:left + w])
    return fit(scene, c.scene_size()), (fit(sprite, c.sprite_size()) if sprite is not None else None)
