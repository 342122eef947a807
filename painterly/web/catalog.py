"""What the web page offers: methods with their controls, and the gallery of example pictures.

`methods()` is the one place the page's controls come from: each method with a plain-language
title, the paper in small print, what it needs (a painting, a trained model), whether it paints
step by step (live preview and Stop), and its options as a schema (name, type, default, min/max,
choices, help). The page generates its controls from that schema, so a new method shows up with
its own controls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from .. import pipeline, weights
from ..examples import bundled


def _opt(name: str, label: str, type_: str, default: Any, help_: str = "", **kw) -> dict:
    return {"name": name, "label": label, "type": type_, "default": default, "help": help_, **kw}


def model_names() -> list[str]:
    """Names of the shipped trained styles (method model)."""
    from ..feedforward.model import zoo_dir
    return [p.stem for p in sorted(zoo_dir().glob("*.pt"))]


def _strength(default: float, help_: str) -> dict:
    return _opt("strength", "Style strength", "float", default, help_, min=0.0, max=1.0, step=0.05)


def methods(max_steps: int) -> list[dict]:
    """Every method this server can run, in the order the page lists them (one-pass first).
    Methods that need a trained model are left out when none is installed (nothing to pick)."""
    models = model_names()
    out = [
        {"name": "adain", "title": "Any painting, in a second",
         "summary": "Matches the painting's colours and textures in one pass.",
         "paper": "AdaIN — Huang & Belongie, ICCV 2017", "needs_style": True, "iterative": False,
         "options": [_strength(1.0, "0 keeps the photo, 1 is the full painting style")]},
        {"name": "wct", "title": "Any painting, bolder",
         "summary": "One pass, stronger brush patterns; a little slower.",
         "paper": "WCT — Li et al., NeurIPS 2017", "needs_style": True, "iterative": False,
         "options": [_strength(1.0, "0 keeps the photo, 1 is the full painting style")]},
        {"name": "model", "title": "A trained style, instant",
         "summary": "A network trained on one painting: no painting to upload.",
         "paper": "Fast style transfer — Johnson et al., ECCV 2016", "needs_style": False, "iterative": False,
         "options": [_opt("model", "Trained style", "choice", models[0] if models else None,
                          "which painting the network learned", choices=models),
                     _strength(1.0, "0 keeps the photo, 1 is the trained style at full strength")]},
        {"name": "gatys", "title": "Slow and detailed: watch it paint",
         "summary": "Repaints the photo step by step; you see it improve and can stop any time.",
         "paper": "Neural style transfer — Gatys, Ecker & Bethge, CVPR 2016", "needs_style": True,
         "iterative": True,
         "options": [_opt("steps", "Steps", "int", 100, "more steps: more detail, longer wait",
                          min=10, max=max_steps, step=10),
                     _strength(0.5, "0.5 is balanced; each 0.25 more or less is ten times more or less style"),
                     _opt("seed", "Seed", "int", 0, "changes the random start", min=0, max=2**31 - 1,
                          advanced=True)]},
    ]
    return [m for m in out if m["name"] in pipeline.METHODS and (m["name"] != "model" or models)]


#: Options every method shares (the page shows them under "More settings").
def common_options(max_size: int) -> list[dict]:
    return [
        _opt("size", "Result size (long side, px)", "int", min(512, max_size),
             "bigger takes longer", min=64, max=max_size, step=32),
        _opt("preserve_colors", "Colours", "choice", "",
             "whose colours the result keeps", choices=["", "luminance", "match"],
             labels={"": "the painting's", "luminance": "the photo's",
                     "match": "the photo's, painting recoloured first"}),
    ]


def to_run_options(method: str, values: dict) -> dict:
    """The page's option values -> `pipeline.run_stylize` keyword options for `method`."""
    strength = float(values.get("strength", 0.5))
    if method == "gatys":
        opts: dict[str, Any] = {"steps": int(values.get("steps", 100)), "seed": int(values.get("seed", 0))}
        if strength != 0.5:   # log scale around the encoder's balanced beta
            opts["style_weight"] = weights.spec(weights.auto_encoder()).style_weight * 10 ** ((strength - 0.5) * 4)
        return opts
    if method in ("adain", "wct"):
        return {"alpha": strength}
    if method == "model":
        return {"model": values.get("model")}
    return {}


@dataclass(frozen=True)
class Example:
    file: str
    title: str
    credit: str
    kind: str      # "photo" or "painting"


EXAMPLES = (
    Example("tubingen.jpg", "Tübingen", "photo from the neural-style project (MIT)", "photo"),
    Example("golden_gate.jpg", "Golden Gate", "photo from the neural-style project (MIT)", "photo"),
    Example("starry_night.jpg", "The Starry Night", "Vincent van Gogh, 1889", "painting"),
    Example("great_wave.jpg", "The Great Wave", "Katsushika Hokusai, c. 1831", "painting"),
    Example("shipwreck.jpg", "The Shipwreck of the Minotaur", "J. M. W. Turner, c. 1810", "painting"),
    Example("woman_with_hat.jpg", "Woman with a Hat", "Henri Matisse, 1905", "painting"),
)


def example_path(file: str) -> Optional[Path]:
    """The bundled file for a gallery name, or None (only listed names are served)."""
    for e in EXAMPLES:
        if e.file == file:
            p = bundled(file)
            return p if p.is_file() else None
    return None


def examples() -> dict:
    """The gallery: example photos, example paintings, and the trained styles."""
    def item(e: Example) -> dict:
        return {"id": Path(e.file).stem, "title": e.title, "credit": e.credit, "url": f"/api/examples/{e.file}"}
    paintings = {Path(e.file).stem: e for e in EXAMPLES if e.kind == "painting"}
    styles = []
    for name in model_names():
        e = paintings.get(name)
        styles.append({"id": name, "title": e.title if e else name.replace("_", " ").replace("-", " ").title(),
                       "url": f"/api/examples/{e.file}" if e else None})
    return {"photos": [item(e) for e in EXAMPLES if e.kind == "photo"],
            "paintings": [item(e) for e in EXAMPLES if e.kind == "painting"],
            "styles": styles}


def slug(text: str, fallback: str) -> str:
    """A file-name-safe word from a user's file name: `Starry Night.jpg` -> `starry-night`."""
    s = re.sub(r"[^a-z0-9]+", "-", Path(text or "").stem.lower()).strip("-")[:40]
    return s or fallback


def download_name(content_name: str, style_name: str, method: str) -> str:
    """`tubingen_starry-night_adain.png`: what went in, so downloads are told apart."""
    return f"{slug(content_name, 'photo')}_{slug(style_name, 'style')}_{slug(method, 'painterly')}.png"


def safe_filename(name: str) -> str:
    """A download name for Content-Disposition: letters, digits, `_` and `-` only, ending in .png."""
    stem = re.sub(r"[^a-z0-9_-]+", "-", Path(name or "").stem.lower()).strip("-_")[:80]
    return (stem or "painterly") + ".png"
