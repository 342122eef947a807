"""`python -m painterly` is the same as the `painterly` command.

The entry point lives here, importing nothing heavy before it handles Ctrl-C and SIGTERM: one
while PyTorch is still loading ends the process at once with one line and exit code 130 (nothing
exists yet to keep); once the command runs, the first one stops it and keeps what exists, and a
second one while that is being saved changes nothing (`painterly.signals`).
"""
import sys

from .signals import exit_at_once_on_signal, stop_once


def main(argv=None) -> int:
    """Entry point of the `painterly` console script."""
    exit_at_once_on_signal()
    from .cli import main as cli_main
    with stop_once(restore=False):      # the process exits next: a late signal is ignored
        try:
            return cli_main(argv)
        except KeyboardInterrupt:
            print("painterly: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
