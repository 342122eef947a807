"""What the web page offers: methods with their controls, and the gallery of example pictures.

The methods come from the registry (`painterly.methods`): each with its title, the paper in small
print, what it needs (a painting, a trained model), whether it paints step by step (live preview
and Stop), and its options schema from its options dataclass. The page generates its controls
from that, so a newly registered method appears with its own controls. This module only adds
what a page needs on top: labels, the model picker's choices, the server's limits, and which
controls sit in the open (the model picker, an iterative method's first option: its step count,
and the shared strength) and which under "More settings".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from .. import methods, options, pipeline
from ..errors import InputError
from ..examples import bundled

#: Words for the shared options' choices (TransferOptions fields, not method names).
_CHOICE_LABELS = {"preserve_colors": {"": "the painting's", "luminance": "the photo's (brightness from the painting)",
                                      "match": "the photo's (painting recoloured first)"}}
_LABELS = {"preserve_colors": "Colours", "size": "Result size (long side, px)", "strength": "Style strength"}
_HELP = {"preserve_colors": "whose colours the result keeps"}


def web_methods() -> list[methods.Method]:
    """The registered methods a browser can run: they need no model, or list models to pick."""
    return [m for m in methods.all_methods() if m.can_run_in_browser()]


def get(name: str) -> methods.Method:
    """A web-runnable method by name; InputError listing the offered ones otherwise."""
    offered = {m.name: m for m in web_methods()}
    if name not in offered:
        raise InputError(f"unknown method '{name}': use one of {', '.join(offered)}")
    return offered[name]


def model_names(m: methods.Method) -> list[str]:
    return [i.name for i in m.models()] if m.models else []


def _label(name: str) -> str:
    if name in _LABELS:
        return _LABELS[name]
    return name.upper() if len(name) <= 2 else name.replace("_", " ").capitalize()


#: Help texts as templates: the options they mention kept as `{field}` for `plain_help`.
HELP_TEMPLATE = "{{{}}}".format


def plain_help(text: str, labels: dict[str, str]) -> str:
    """A help text in the page's words: an option it mentions (`{size}`, see `HELP_TEMPLATE`) becomes
    the label of the control it names ("relative to {size}" -> "relative to the result size");
    backquoted commands are dropped."""
    def field(match: re.Match) -> str:
        name = match.group(1)
        return labels.get(name, name.replace("_", " ")).lower()
    text = re.sub(r"\{([a-z][a-z0-9_]*)\}", field, text)
    return re.sub(r"\s*\(?`[^`]*`\)?", "", text).strip()


#: The model picker's help: the page offers the shipped styles, never a file path or a command.
MODEL_HELP = "the trained style that paints the photo (the ⚡ tiles in the gallery show each one)"


def _labels(m: methods.Method) -> dict[str, str]:
    fields = [o["name"] for o in options.schema(pipeline.TransferOptions)] + [o["name"] for o in options.schema(m.options)]
    return {**{f: _label(f) for f in fields}, "size": "the result size", "strength": "the style strength"}


def method_options(m: methods.Method, max_steps: int, max_size: int = 1024) -> list[dict]:
    """The method's schema, ready for controls: label, plain help, main/advanced, the model picker's
    choices, and this server's caps (steps, and a style image's side at most the largest result)."""
    out = []
    labels = _labels(m)
    for i, o in enumerate(options.schema(m.options, HELP_TEMPLATE)):
        o = {**o, "label": _label(o["name"]), "advanced": True, "help": plain_help(o["help"], labels)}
        if m.needs_model and o["name"] == "model":          # the registry's contract: needs_model -> `model`
            names = model_names(m)
            o.update(type="string", choices=names, default=names[0] if names else None, nullable=False,
                     advanced=False, label="Trained style", help=MODEL_HELP)
        elif m.iterative and i == 0:                         # an iterative method's first knob: its steps
            o["advanced"] = False
        if o["name"] == "steps":                             # the server's cap on any step count
            o["max"] = min(o["max"] or max_steps, max_steps)
            o["default"] = min(o["default"], max_steps)
        if o["type"] == "integer" and (o["name"] == m.style_field or o["name"].startswith("style_")):
            cap = max(max_size, o["default"] or 0)           # a style side: no larger than the largest result
            o["max"] = min(o["max"] or cap, cap)             # (or than the method's own default)
        out.append(o)
    return out


def describe(max_steps: int, max_size: int = 1024) -> list[dict]:
    """Each web-runnable method for a front end, in registry order."""
    return [{"name": m.name, "title": m.title, "paper": m.paper, "description": m.description,
             "needs_style": m.needs_style, "needs_model": m.needs_model, "iterative": m.iterative,
             "supports": sorted(m.supports), "options": method_options(m, max_steps, max_size),
             "models": model_names(m)}
            for m in web_methods()]


#: the form's `where` ("" = the whole picture; else an automatic region) and how the page says each
WHERE = {"": "the whole picture", "sky": "the sky", "not-sky": "everything but the sky",
         "person": "the person", "background": "the background (the person keeps the photo)"}


def where_field() -> dict:
    """The `where` entry of the form's schema: paint one automatic region (every web method takes a mask)."""
    return {"name": "where", "type": "string", "choices": list(WHERE), "labels": dict(WHERE), "default": "",
            "nullable": True, "label": "Where to paint", "advanced": False, "min": None, "max": None,
            "help": "paint only part of the photo, found automatically; the rest keeps the photo"}


def common_options(max_size: int) -> list[dict]:
    """The options every method shares (TransferOptions' web fields, less `method`), for this server."""
    out = []
    labels = {"size": "the result size", "strength": "the style strength"}
    for o in options.schema(pipeline.TransferOptions, HELP_TEMPLATE):
        if o["name"] == "method":
            continue
        o = {**o, "label": _label(o["name"]), "advanced": o["name"] != "strength", "help": plain_help(o["help"], labels)}
        if o["name"] == "size":
            o.update(max=max_size, default=min(o["default"] or max_size, max_size), min=o["min"] or 16,
                     nullable=False)
        if o["choices"] and o["nullable"]:
            o["choices"] = [""] + o["choices"]
            o["default"] = o["default"] or ""
        if o["name"] in _CHOICE_LABELS:
            o["labels"] = _CHOICE_LABELS[o["name"]]
            o["help"] = _HELP[o["name"]]
        out.append(o)
    return out + [where_field()]


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


def trained_styles() -> list[tuple[methods.Method, str]]:
    """(method, model name) of every trained style a browser can pick: methods that carry their
    style in a model (no painting needed)."""
    return [(m, name) for m in web_methods() if m.needs_model and not m.needs_style for name in model_names(m)]


def is_trained_style(method: str, model: str) -> bool:
    return any(m.name == method and name == model for m, name in trained_styles())


def style_title(name: str) -> str:
    """`starry_night_fast` -> `Starry night fast`: a model's name in words."""
    words = re.sub(r"[_-]+", " ", name).strip()
    return words[:1].upper() + words[1:]


def examples() -> dict:
    """The gallery: example photos, example paintings, and the trained styles of every method that
    carries its style in a model (each tile says which method and model it picks, and shows the
    example photo painted in that style)."""
    def item(e: Example) -> dict:
        return {"id": Path(e.file).stem, "title": e.title, "credit": e.credit, "url": f"/api/examples/{e.file}"}
    paintings = {Path(e.file).stem: e for e in EXAMPLES if e.kind == "painting"}
    styles = []
    for m, name in trained_styles():
        e = paintings.get(name)
        styles.append({"id": name, "method": m.name, "title": e.title if e else style_title(name),
                       "url": f"/api/styles/{m.name}/{name}.jpg"})
    return {"photos": [item(e) for e in EXAMPLES if e.kind != "painting"],   # kind is "photo" or "painting"
            "paintings": [item(e) for e in EXAMPLES if e.kind == "painting"],
            "styles": styles}


def slug(text: str, fallback: str) -> str:
    """A file-name-safe word from a user's file name: `Starry Night.jpg` -> `starry-night`."""
    s = re.sub(r"[^a-z0-9]+", "-", Path(text or "").stem.lower()).strip("-")[:40]
    return s or fallback


def download_name(content_name: str, style_name: str, method: str) -> str:
    """`tubingen_starry-night_adain.png`: what went in, so downloads are told apart."""
    return f"{slug(content_name, 'photo')}_{slug(style_name, 'style')}_{slug(method, 'painterly')}.png"


def safe_filename(name: str, suffix: str = ".png") -> str:
    """A download name for Content-Disposition: letters, digits, `_` and `-` only, ending in `suffix`."""
    stem = re.sub(r"[^a-z0-9_-]+", "-", Path(name or "").stem.lower()).strip("-_")[:80]
    return (stem or "painterly") + suffix
