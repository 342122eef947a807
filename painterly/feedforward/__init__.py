"""Fast feed-forward style transfer (Johnson et al. 2016, instance norm of Ulyanov et al.)."""

from .model import StyleModel, apply, load_model, save_model, zoo
from .network import TransformerNet
from .train import StyleTrainOptions, train_style

__all__ = ["StyleModel", "StyleTrainOptions", "TransformerNet", "apply", "load_model",
           "save_model", "train_style", "zoo"]
