"""Domain transfer with CycleGAN (Zhu et al. 2017): photos <-> an artist's paintings, unpaired.

options.py (TranslateOptions), networks.py (generators, discriminators), model.py (files, `translate`),
metrics.py, train.py (train-cyclegan), method.py (registration)."""
