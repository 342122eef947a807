"""`python -m painterly` is the same as the `painterly` command."""
import sys

from .cli import main

sys.exit(main())
