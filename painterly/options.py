"""Options dataclasses as the single source of names, types, defaults, help and checks.

Every method and trainer describes its knobs as a dataclass whose fields carry metadata made
by `opt(...)`. From that one description the CLI builds its flags (`add_arguments`), reads
them back (`from_args`), and the HTTP API publishes a schema a web front end can turn into
controls (`schema`). Checks live in the dataclass (`validate`) and raise `OptionError`, which
names the *field*; each front end translates the field to its own spelling (`--style-weight`
on the command line, `style_weight` in a form).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import typing
from collections.abc import Callable, Sequence
from typing import Any, Optional

from .errors import InputError, fill


class OptionError(InputError):
    """A bad option value; `field` is the dataclass field, `problem` the rest of the sentence (which
    may mention other options as `{field}`, listed in `refs`)."""

    def __init__(self, field: str, problem: str, refs: Sequence[str] = ()):
        self.field, self.problem = field, problem
        super().__init__(problem, refs)

    def render(self, name: Callable[[str], str]) -> str:
        """The message with the field (and the options it mentions) spelt as a front end spells them."""
        problem = self.render_problem(name)
        return f"{name(self.field)}{'' if problem.startswith(':') else ' '}{problem}"

    def render_problem(self, name: Callable[[str], str]) -> str:
        """The sentence after the field, the options it mentions spelt by `name`."""
        return fill(self.problem, self.refs, name)


#: Largest random seed every generator takes (torch's, NumPy's via modulo, Python's).
SEED_MAX = 2**63 - 1
#: Most steps any run may ask for (a day of Gatys steps at 32 px; 100 times Johnson's training):
#: a larger number is a typo, refused instead of run until someone stops it.
STEPS_MAX = 1_000_000


def opt(default: Any = dataclasses.MISSING, *, help: str = "", choices: Optional[Sequence] = None,
        min: Optional[float] = None, max: Optional[float] = None, above: Optional[float] = None,
        flag: Optional[str] = None,
        nargs: Optional[str] = None, const: Any = None, parse: Optional[Callable[[str], Any]] = None, metavar: Optional[str] = None,
        cli: bool = True, web: bool = True, factory: Optional[Callable[[], Any]] = None) -> Any:
    """A dataclass field with what front ends need: help, choices, bounds (min/max, checked by
    `check_fields`), the CLI flag if not `--field-name`, `nargs`, a string parser, and whether the
    CLI / the web page show it."""
    meta = {"help": help, "choices": tuple(choices) if choices is not None else None, "min": min, "max": max,
            "above": above,
            "flag": flag, "nargs": nargs, "const": const, "parse": parse, "metavar": metavar, "cli": cli, "web": web}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def flag_of(f: dataclasses.Field) -> str:
    """The CLI flag of a field: its metadata's `flag`, else --field-name."""
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def flag_names(*classes: type) -> dict[str, str]:
    """{field: flag} over the given options classes (later classes win)."""
    return {f.name: flag_of(f) for cls in classes for f in dataclasses.fields(cls)}


def help_of(f: dataclasses.Field, name: Callable[[str], str] = str) -> str:
    """A field's help with the options it mentions (`{field}`) spelt by `name`."""
    return re.sub(r"\{([a-z][a-z0-9_]*)\}", lambda m: name(m.group(1)), f.metadata.get("help", ""))


def default_of(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default  # type: ignore[misc]


def _base_type(cls: type, f: dataclasses.Field) -> tuple[Any, bool]:
    """(the field's type without Optional, whether None is allowed)."""
    tp = typing.get_type_hints(cls)[f.name]
    args = typing.get_args(tp)
    if typing.get_origin(tp) is typing.Union and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return tp, False


def type_name(cls: type, f: dataclasses.Field) -> str:
    tp, _ = _base_type(cls, f)
    origin = typing.get_origin(tp) or tp
    return {bool: "boolean", int: "integer", float: "number", str: "string", dict: "object",
            tuple: "array", list: "array"}.get(origin, "array" if origin in (Sequence,) else "string")


def check_fields(o: Any) -> Any:
    """Check every field's declared choices and min/max; raise OptionError naming the field."""
    for f in dataclasses.fields(o):
        v, m = getattr(o, f.name), f.metadata
        if v is None:
            continue
        if m.get("choices") and v not in m["choices"]:
            raise OptionError(f.name, f"must be one of {', '.join(map(str, m['choices']))}, got '{v}'")
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if isinstance(v, float) and not math.isfinite(v):
                raise OptionError(f.name, f"must be a finite number, got {v}")
            if m.get("min") is not None and v < m["min"]:
                raise OptionError(f.name, f"must be at least {_num(m['min'])}, got {_num(v)}")
            if m.get("above") is not None and v <= m["above"]:
                raise OptionError(f.name, f"must be greater than {_num(m['above'])}, got {_num(v)}")
            if m.get("max") is not None and v > m["max"]:
                raise OptionError(f.name, f"must be at most {_num(m['max'])}, got {_num(v)}")
    return o


def check_together(o: Any, a: str, b: str, problem: Callable[[str], str]) -> None:
    """Two fields that only work together (e.g. the photo's and the style's label maps): OptionError
    naming the one left out; `problem(missing)` says why."""
    if (getattr(o, a) is None) != (getattr(o, b) is None):
        missing = b if getattr(o, a) is not None else a
        raise OptionError(missing, problem(missing))


def _num(v: float) -> str:
    """A bound or value for a message: whole numbers in full (2**63 - 1 too), others short."""
    return str(v) if isinstance(v, int) else f"{v:g}"


def whole_number(s: str) -> int:
    """'300', or a whole number in exponent form ('1e3'); the field's bounds are checked later."""
    try:
        return int(s)
    except ValueError:
        pass
    try:
        v = float(s)
    except ValueError:
        v = math.nan
    if math.isfinite(v) and v.is_integer():
        return int(v)
    raise argparse.ArgumentTypeError(f"'{s}' is not a whole number")


def positive_int(s: str) -> int:
    v = whole_number(s)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def number(s: str) -> float:
    try:
        return float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{s}' is not a number") from None


def positive_number(s: str) -> float:
    """A finite number above 0 (nan, inf, 0 and negatives are refused)."""
    v = number(s)
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {s}")
    return v


def names(s: str) -> tuple[str, ...]:
    """'a,b, c' -> ('a', 'b', 'c')."""
    return tuple(n.strip() for n in s.replace(",", " ").split() if n.strip())


class _Given(argparse.Action):
    """Stores the value and remembers that the user gave the option (so presets can yield)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)
        given = set(getattr(namespace, "_given", set()))
        setattr(namespace, "_given", given | {self.dest})


def _show(v: Any) -> str:
    if isinstance(v, dict):
        return ",".join(k if w == 1 else f"{k}:{w:g}" for k, w in v.items())
    if isinstance(v, (tuple, list)):
        return ",".join(map(str, v))
    return f"{v:g}" if isinstance(v, float) else str(v)


def add_arguments(parser: argparse.ArgumentParser, cls: type, title: Optional[str] = None,
                  skip: Sequence[str] = (), defaults: Optional[dict] = None) -> None:
    """One flag per CLI-visible field of `cls`, default = the field's default (or `defaults`)."""
    g = parser.add_argument_group(title) if title else parser
    for f in dataclasses.fields(cls):
        m = f.metadata
        if not m.get("cli", False) or f.name in skip:
            continue
        default = (defaults or {}).get(f.name, default_of(f))
        tp, _ = _base_type(cls, f)
        kw: dict[str, Any] = {"dest": f.name, "default": default, "action": _Given}
        helptext = help_of(f, lambda n: flag_of(f) if n == f.name else "--" + n.replace("_", "-"))
        if default is not None and tp is not bool:
            helptext += f" (default {_show(default)})"
        if tp is bool:
            flag = flag_of(f)
            if flag.startswith("--no-"):       # a switch that turns a default-on feature off
                kw.update(nargs=0, const=False)
            elif default is None:            # tri-state: on / off / automatic
                kw = {"dest": f.name, "default": None, "action": argparse.BooleanOptionalAction}
            else:
                kw.update(nargs=0, const=True)
            g.add_argument(flag, help=helptext.replace("%", "%%"), **kw)
            continue
        origin = typing.get_origin(tp) or tp
        if m.get("nargs") in ("+", "*") and typing.get_args(tp):   # a list on the command line: its items' type
            origin = typing.get_args(tp)[0]
        if m.get("parse"):
            kw["type"] = m["parse"]
        elif origin is int:
            kw["type"] = positive_int if (m.get("min") or 0) >= 1 else whole_number
        elif origin is float:
            kw["type"] = number
        if m.get("nargs"):
            kw["nargs"] = m["nargs"]
        if m.get("const") is not None:
            kw["const"] = m["const"]
        if m.get("choices") and not m.get("parse"):
            kw["choices"] = m["choices"]
        if m.get("metavar"):
            kw["metavar"] = m["metavar"]
        g.add_argument(flag_of(f), help=helptext.replace("%", "%%"), **kw)


def from_args(cls: type, args: argparse.Namespace, base: Any = None, **extra: Any) -> Any:
    """An instance of `cls` from parsed arguments. With `base` (e.g. a preset), only the options
    the user actually gave replace base's values."""
    values = {}
    given = getattr(args, "_given", set())
    for f in dataclasses.fields(cls):
        if not f.metadata.get("cli", False) or not hasattr(args, f.name):
            continue
        if base is None or f.name in given:
            values[f.name] = getattr(args, f.name)
    if base is not None:
        values = {**{f.name: getattr(base, f.name) for f in dataclasses.fields(cls)}, **values}
    return cls(**{**values, **extra})


def schema(cls: type, name: Callable[[str], str] = str) -> list[dict]:
    """JSON-ready description of the web-visible fields: name, type, default, help, choices, min, max.
    `name`: how a help text spells the options it mentions (default: their field names)."""
    out = []
    for f in dataclasses.fields(cls):
        m = f.metadata
        if not m.get("web", False):
            continue
        d = default_of(f)
        out.append({"name": f.name, "type": type_name(cls, f), "nullable": _base_type(cls, f)[1],
                    "default": list(d) if isinstance(d, tuple) else d, "help": help_of(f, name),
                    "choices": list(m["choices"]) if m.get("choices") else None,
                    "min": m.get("min"), "max": m.get("max")})
    return out


def build(cls: type, values: dict, what: str) -> Any:
    """cls(**values) with an InputError naming unknown keys instead of a TypeError."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise InputError(f"unknown option(s) for {what}: {', '.join(sorted(unknown))}")
    return cls(**values)
