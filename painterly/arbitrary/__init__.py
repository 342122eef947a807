"""Arbitrary style transfer in one pass: AdaIN (Huang & Belongie 2017) and WCT (Li et al. 2017)."""

from .networks import LEVELS, Decoder, NormalisedVGG
from .pairs import load_decoder, save_decoder, shipped
from .stylize import ArbitraryOptions, run
from .transforms import adain, mean_std, transfer, wct

__all__ = ["ArbitraryOptions", "Decoder", "LEVELS", "NormalisedVGG", "adain", "load_decoder", "mean_std", "run",
           "save_decoder", "shipped", "transfer", "wct"]
