"""`python -m painterly` is the same as the `painterly` command.

The entry point lives here, importing nothing heavy before it can catch Ctrl-C: an interrupt
while torch is still loading is one line and exit code 130, like one at any later moment.
"""
import sys


def main(argv=None) -> int:
    """Entry point of the `painterly` console script."""
    try:
        from .cli import main as cli_main
        return cli_main(argv)
    except KeyboardInterrupt:
        print("painterly: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
