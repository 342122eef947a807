"""Errors a user can cause. The CLI turns them into one line and exit code 2."""


class InputError(ValueError):
    """Bad input from the user: the message names the file or option and the fix."""


class NotEnoughMemory(InputError):
    """A run that does not fit in the memory of its device (refused before it starts, or an
    allocator failure caught while it ran): the message says how much and what to change."""


class SkippedInput(UserWarning):
    """One input of many was unreadable and is left out (e.g. a corrupt training photo); the CLI
    prints it as one line."""
