"""painterly: neural style transfer from one command, one function call, or one web page.

    >>> import painterly
    >>> img = painterly.stylize("photo.jpg", "painting.jpg", size=512, steps=300)
    >>> img.save("out.png")
"""

from .errors import InputError
from .pipeline import StylizeResult, run_stylize, stylize

__version__ = "0.1.0"
__all__ = ["InputError", "StylizeResult", "run_stylize", "stylize", "__version__"]
