"""Arbitrary style transfer in one pass: AdaIN (Huang & Belongie 2017) and WCT (Li et al. 2017).

options.py (ArbitraryOptions), stylize.py (the engine), transforms.py (the feature transforms), networks.py and
pairs.py (encoder/decoder pairs), tiled.py (print size), train.py (train-decoder), method.py (registration)."""
