"""Errors a user can cause. The CLI turns them into one line and exit code 2."""


class InputError(ValueError):
    """Bad input from the user: the message names the file or option and the fix."""
