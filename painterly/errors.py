"""Errors a user can cause. The CLI turns them into one line and exit code 2.

Messages name options by their field (`size`, `style_weight`), never by a front end's spelling: a
message that mentions an option writes it as `{size}` and lists it in `refs`; `render(name)` spells
each one as a front end does (`--size` on the command line), and `str()` gives the field names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


def fill(text: str, refs: Sequence[str], name: Callable[[str], str]) -> str:
    """`text` with each `{field}` of `refs` spelt as `name(field)`."""
    for f in refs:
        text = text.replace("{" + f + "}", name(f))
    return text


class InputError(ValueError):
    """Bad input from the user: the message names the file or option and the fix. `refs`: the
    options the message mentions as `{field}`."""

    def __init__(self, message: str = "", refs: Sequence[str] = ()):
        self.message, self.refs = message, tuple(refs)
        super().__init__(self.render(str))

    def render(self, name: Callable[[str], str]) -> str:
        """The message with the options it mentions spelt by `name` (e.g. the CLI's flag)."""
        return fill(self.message, self.refs, name)

    def __reduce__(self):
        # rebuilt from its attributes, so that subclasses with other signatures cross processes
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls: type, args: tuple, state: dict) -> InputError:
    e = cls.__new__(cls)
    e.args = args
    e.__dict__.update(state)
    return e


class NotEnoughMemory(InputError):
    """A run that does not fit in the memory of its device (refused before it starts, or an
    allocator failure caught while it ran): the message says how much and what to change."""


class SkippedInput(UserWarning):
    """One input of many was unreadable and is left out (e.g. a corrupt training photo); the CLI
    prints it as one line."""
