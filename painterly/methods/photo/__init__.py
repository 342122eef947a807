"""Family: photorealistic style transfer (#23) — a photo in the colour and light of another photo.

    options.py     PhotoOptions (imports nothing of the family)
    network.py     Chiu & Gurari's PCA-distilled VGG encoder/decoder (PyTorch; weights in data/photo)
    tfbundle.py    numpy reader of TensorFlow bundle checkpoints (used by scripts/photo_convert_pcakd.py)
    transforms.py  ZCA whitening/colouring per region, as statistics -> affine maps
    labels.py      colour-coded label maps: read, quantise, match photo to reference
    smoothing.py   guided filter (OpenCV or PyTorch) and PhotoWCT's matting-affinity smoothing
    engine.py      the whole-image run;  tiled.py: the same on tiles (print sizes)
    deep_photo.py  Luan et al.'s terms (matting regulariser in painterly.matting, label-augmented Gram)
    metrics.py     SSIM of luminance, L*a*b* colour distance (bench photo)
    method.py      the registration: the only glue with the rest of painterly
"""
