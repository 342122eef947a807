"""painterly: neural style transfer from one command, one function call, or one web page.

    >>> import painterly
    >>> img = painterly.stylize("photo.jpg", "painting.jpg", size=512, steps=300)        # Gatys
    >>> img = painterly.stylize("photo.jpg", "painting.jpg", method="adain")             # one pass
    >>> img = painterly.stylize("photo.jpg", None, method="model", model="starry_night")  # trained
    >>> img.save("out.png")

Files, folders and videos: `stylize_file`, `stylize_folder`, `stylize_video` (kept steady along
the motion: `temporal=True`; one segment of frames: `paint_segment`). One request
(`make_request(...)`, frozen) serves a whole folder or video. The methods and their options:
`painterly.methods.all_methods()`; each family's code is in `painterly/methods/<family>/`.
Automatic masks (person, background, sky): `mask("photo.jpg", "sky")`, or `mask="auto:sky"`.
Training: `train_style` (feed-forward), `train_decoder` (AdaIN/WCT), `train_cyclegan`.
"""

from .errors import InputError

__version__ = "0.3.0"


def __getattr__(name: str):
    """Everything that needs torch is imported on first use: `import painterly` stays instant,
    so the command line can answer Ctrl-C during start-up with one line."""
    if name in ("StylizeResult", "run_stylize", "stylize", "make_request"):
        from . import pipeline
        return getattr(pipeline, name)
    if name in ("Request", "TransferOptions"):
        from . import request
        return getattr(request, name)
    if name in ("train_style", "StyleTrainOptions"):
        from .methods.feedforward import train
        return getattr(train, name)
    if name == "load_model":
        from .methods.feedforward import model
        return model.load_model
    if name in ("train_decoder", "DecoderTrainOptions"):
        from .methods.arbitrary import train
        return getattr(train, name)
    if name in ("stylize_video", "paint_segment", "VideoOptions"):
        from . import video_paint
        return getattr(video_paint, name)
    if name in ("stylize_file", "stylize_folder"):
        from . import batch
        return getattr(batch, name)
    if name == "mask":
        from .segment import mask
        return mask
    if name in ("train_cyclegan", "CycleGANOptions"):
        from .methods.cyclegan import train
        return getattr(train, name)
    if name == "load_generator":
        from .methods.cyclegan import model
        return model.load_generator
    raise AttributeError(f"module 'painterly' has no attribute {name!r}")


__all__ = ["CycleGANOptions", "DecoderTrainOptions", "InputError", "Request", "StyleTrainOptions", "StylizeResult",
           "TransferOptions", "VideoOptions", "make_request", "paint_segment",
           "load_generator", "load_model", "mask", "run_stylize", "stylize", "stylize_file", "stylize_folder",
           "stylize_video", "train_cyclegan", "train_decoder",
           "train_style", "__version__"]
