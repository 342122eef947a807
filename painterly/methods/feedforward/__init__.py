"""Fast feed-forward style transfer (Johnson et al. 2016, instance norm of Ulyanov et al.).

options.py (ModelOptions), network.py (TransformerNet), model.py (files, the shipped zoo, `apply`),
train.py (train-style), method.py (registration of `--method model`)."""
