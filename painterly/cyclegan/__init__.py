"""Domain transfer with CycleGAN (Zhu et al. 2017): photos <-> an artist's paintings, unpaired."""

from .model import load_generator, save_generator, translate
from .networks import DnCNNGenerator, PatchDiscriminator, ResnetGenerator, SourceDiscriminator
from .train import PRESETS, CycleGANOptions, ImagePool, train_cyclegan

__all__ = ["CycleGANOptions", "DnCNNGenerator", "ImagePool", "PRESETS", "PatchDiscriminator", "ResnetGenerator",
           "SourceDiscriminator", "load_generator", "save_generator", "train_cyclegan", "translate"]
