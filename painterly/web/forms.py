"""The one form parser of the HTTP API: `/api/stylize` and `/api/jobs` read their fields with it.

It is generated from the options schema (`painterly.options.schema` of `TransferOptions` and of
the chosen method's options dataclass, with the server's caps from `catalog`), so a field is
parsed, bounded and worded the same way on both endpoints: a bad value is one sentence that
names the field (`size: must be a whole number between 16 and 1024, got 'abc'`), as a
`FieldError` the routes answer with 422.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Optional

from starlette.datastructures import FormData, UploadFile

from .. import methods
from ..errors import InputError
from ..options import OptionError
from . import catalog
from .state import Settings

#: Form fields that are not options: the two files and the method's name.
FILES = ("content", "style")
MAX_TEXT = 200


class FieldError(InputError):
    """A bad request: `field` is the form field at fault (None when no single one is), the message
    one sentence starting with it."""

    def __init__(self, field: Optional[str], problem: str, status: int = 422, prefix: bool = True):
        self.field, self.problem, self.status = field, problem, status
        super().__init__(f"{field}: {problem}" if field and prefix else problem[:1].upper() + problem[1:])


@dataclass(frozen=True)
class Order:
    """A parsed form: the method, the shared options, the method's own options, the two uploads."""

    method: methods.Method
    transfer: dict            # size, strength, preserve_colors (typed; absent = default)
    values: dict              # the method's own options by field name (typed; absent = default)
    content: UploadFile
    style: Optional[UploadFile]

    @property
    def model(self) -> Optional[str]:
        return self.values.get("model")


def web_words(message: str) -> str:
    """A library message in the API's words: a `--flag` left in it becomes the form field's name."""
    return re.sub(r"--([a-z][a-z0-9-]*)", lambda m: m.group(1).replace("-", "_"), message)


def from_option_error(e: OptionError) -> FieldError:
    return FieldError(e.field, web_words(e.render_problem(str).lstrip(": ")))


def _num(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _bounds(o: dict) -> str:
    lo, hi = o.get("min"), o.get("max")
    if lo is not None and hi is not None:
        return f" between {_num(lo)} and {_num(hi)}"
    if lo is not None:
        return f" of at least {_num(lo)}"
    if hi is not None:
        return f" of at most {_num(hi)}"
    return ""


def _choices(o: dict) -> str:
    shown = [c for c in o["choices"] if c not in ("", None)]
    listed = ", ".join(map(str, shown[:10])) + (f" … ({len(shown)} in all, GET /api/methods lists them)"
                                                if len(shown) > 10 else "")
    return f"one of {listed}" + (", or left empty" if o.get("nullable") or "" in o["choices"] else "")


def _quote(raw: str) -> str:
    return f"'{raw[:24]}…'" if len(raw) > 24 else f"'{raw}'"


def parse_field(o: dict, raw: str) -> Any:
    """One form string -> its typed value, checked against the schema entry `o`; FieldError if bad."""
    name, kind = o["name"], o["type"]
    if o.get("choices"):
        if raw not in [str(c) for c in o["choices"]]:
            raise FieldError(name, f"must be {_choices(o)}, got {_quote(raw)}")
        return next(c for c in o["choices"] if str(c) == raw)
    if kind == "integer":
        try:
            v: Any = int(raw)
        except ValueError:
            try:
                f = float(raw)
                v = int(f) if math.isfinite(f) and f.is_integer() else None
            except ValueError:
                v = None
        if v is None:
            raise FieldError(name, f"must be a whole number{_bounds(o)}, got {_quote(raw)}")
        lo, hi = o.get("min"), o.get("max")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise FieldError(name, f"must be a whole number{_bounds(o)}, got {_quote(raw)}")
        return v
    if kind == "number":
        try:
            v = float(raw)
        except ValueError:
            v = math.nan
        lo, hi = o.get("min"), o.get("max")
        if not math.isfinite(v) or (lo is not None and v < lo) or (hi is not None and v > hi):
            raise FieldError(name, f"must be a number{_bounds(o)}, got {_quote(raw)}")
        return v
    if kind == "boolean":
        low = raw.lower()
        if low not in ("1", "0", "true", "false", "on", "off", "yes", "no"):
            raise FieldError(name, f"must be true or false, got {_quote(raw)}")
        return low in ("1", "true", "on", "yes")
    if kind == "array":
        items = [x for x in re.split(r"[,\s]+", raw) if x]
        try:
            return tuple(float(x) for x in items)
        except ValueError:
            raise FieldError(name, f"must be numbers separated by commas, got {_quote(raw)}") from None
    if len(raw) > MAX_TEXT:
        raise FieldError(name, f"is too long ({len(raw)} characters; at most {MAX_TEXT})")
    return raw


def _text(form: FormData, name: str) -> Optional[str]:
    """The field's one text value, stripped; None when absent or blank. FieldError for a file or a repeat."""
    got = form.getlist(name)
    if not got:
        return None
    if len(got) > 1:
        raise FieldError(name, f"is given {len(got)} times: send it once")
    if isinstance(got[0], UploadFile):
        raise FieldError(name, "must be a value, not a file")
    raw = str(got[0]).strip()
    return raw or None


def _file(form: FormData, name: str, what: str) -> Optional[UploadFile]:
    got = form.getlist(name)
    if not got:
        return None
    if len(got) > 1:
        raise FieldError(name, f"is given {len(got)} times: send one {what}")
    f = got[0]
    if not isinstance(f, UploadFile):
        if not str(f).strip():
            return None
        raise FieldError(name, f"must be an image file ({what}), sent as a file upload, not as text")
    return f


text = _text
upload = _file


def choose_method(raw: Optional[str], model: Optional[str]) -> methods.Method:
    """The form's `method`: a web-runnable method by name; absent or blank = the library's default
    (the trained-model method when `model` is given, else the first)."""
    name = raw or methods.default_for(model)
    try:
        return catalog.get(name)
    except InputError:
        offered = ", ".join(m.name for m in catalog.web_methods())
        raise FieldError("method", f"must be one of {offered}, got {_quote(name)}") from None


def schema_for(m: methods.Method, s: Settings) -> list[dict]:
    """Every option field the form may carry for method `m` on this server: shared, then the method's."""
    return catalog.common_options(s.max_size) + catalog.method_options(m, s.max_steps, s.max_size)


def parse(form: FormData, s: Settings) -> Order:
    """The whole form, checked: method, every option field against its schema, the two files.
    Unknown fields are refused by name (a misspelt option must not silently do nothing)."""
    m = choose_method(_text(form, "method"), _text(form, "model"))
    fields = schema_for(m, s)
    known = {o["name"] for o in fields}
    for key in form.keys():
        if key not in known and key not in FILES and key != "method":
            takes = ", ".join(sorted(known))
            raise FieldError(key, f"is not an option of method {m.name} (it takes {takes})")
    transfer, values = {}, {}
    common = {o["name"] for o in catalog.common_options(s.max_size)}
    for o in fields:
        raw = _text(form, o["name"])
        if raw is None:
            continue
        (transfer if o["name"] in common else values)[o["name"]] = parse_field(o, raw)
    if m.needs_model and not values.get("model"):
        picker = next(o for o in fields if o["name"] == "model")
        values["model"] = picker["default"]
    content = _file(form, "content", "the photo")
    if content is None:
        raise FieldError("content", "is missing: send the photo as a file upload")
    style = _file(form, "style", "the painting")
    if m.needs_style and style is None:
        raise FieldError("style", f"is missing: method {m.name} needs a painting, sent as a file upload")
    if not m.needs_style and style is not None:
        raise FieldError("style", f"is not used by method {m.name}, which carries its style in its model: "
                                  "send no style file")
    return Order(m, transfer, values, content, style)


def openapi_body(s: Settings) -> dict:
    """The multipart request body both endpoints take, for /openapi.json (from the same schema)."""
    props: dict[str, Any] = {
        "content": {"type": "string", "format": "binary", "description": "the photo"},
        "style": {"type": "string", "format": "binary", "description": "the painting (methods without a model)"},
        "method": {"type": "string", "enum": [m.name for m in catalog.web_methods()],
                   "description": "how to paint; empty: gatys, or the trained-model method when model is given"},
    }
    kinds = {"integer": "integer", "number": "number", "boolean": "boolean", "array": "string", "string": "string"}
    for m in catalog.web_methods():
        for o in schema_for(m, s):
            if o["name"] in props:
                continue
            p: dict[str, Any] = {"type": kinds.get(o["type"], "string"), "description": o["help"]}
            if o.get("min") is not None:
                p["minimum"] = o["min"]
            if o.get("max") is not None:
                p["maximum"] = o["max"]
            if o.get("choices"):
                p["enum"] = o["choices"]
            props[o["name"]] = p
    return {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["content"], "properties": props}}}}
