"""A template family: the smallest complete method, to copy when adding one.

Copy this folder to `painterly/methods/<family>/`, rename, and add `<family>` to `FAMILIES` in
`painterly/methods/base.py` (that list also orders the listings). Families whose name starts with
`_`, like this one, are never loaded by the registry and never listed to users: a test imports
it and runs it through the whole pipeline (tests/test_registry.py).

    options.py   the options dataclass: frozen, fields made with `options.opt` (the CLI flags,
                 the web form, the bounds checks and the help all come from it); imports nothing
                 of the family
    method.py    `@register def <name>() -> Method`: name, title, paper, description, options,
                 run; then only what the method does more (needs_style, supports, memory, tiled,
                 prepare, bench ...; see `painterly.methods.base.Method`)

A real family keeps its heavy code (networks, the engine) in modules of its own, imported inside
`run`, so that listing the methods (`painterly --help`) stays fast.
"""
