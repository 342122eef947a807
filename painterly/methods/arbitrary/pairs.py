"""Encoders and decoders for AdaIN/WCT: load, save and find the shipped ones.

A decoder file records the encoder it inverts and its level, so `load_decoder` can build the
matching encoder. Shipped: decoders for relu1_1, relu2_1 and relu3_1 of the normalised VGG-19
(relu3_1 from LinearStyleTransfer, BSD-2; relu1_1 and relu2_1 trained by painterly).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Optional, Union

import torch
import torch.nn as nn

from ... import weights
from ...errors import InputError
from ...features import Encoder
from ...checkpoints import load_model_file, save_model_file
from .networks import LEVELS, Decoder, NormalisedVGG, check_level

FORMAT = "painterly-decoder"
NORMALISED = "vgg19-normalised"


def data_dir() -> Path:
    return Path(str(resources.files("painterly") / "data" / "arbitrary"))


@dataclass
class DecoderFile:
    """A decoder with the encoder name and level it inverts, and how it was trained."""

    decoder: Decoder
    encoder: str
    level: str
    meta: dict = field(default_factory=dict)


def build_encoder(name: str, layers: tuple[str, ...], weights_path: Optional[str] = None) -> nn.Module:
    """An encoder returning {layer: features}: the shipped normalised VGG or a registry VGG."""
    if name == NORMALISED:
        enc = NormalisedVGG(layers)
        enc.load_state_dict(torch.load(weights_path or data_dir() / "vgg19_normalised_r31.pth",
                                       map_location="cpu", weights_only=True))
        return enc
    return Encoder(name, layers, weights_path=weights_path)


@lru_cache(maxsize=8)
def _cached_encoder(name: str, layers: tuple[str, ...], device: str) -> nn.Module:
    return build_encoder(name, layers).to(device)


def encoder(name: str, layers: tuple[str, ...], device: str = "cpu") -> nn.Module:
    """A cached frozen encoder (weights are loaded once per process)."""
    return _cached_encoder(name, tuple(layers), device)


def save_decoder(dec: Decoder, path: Union[str, os.PathLike], encoder_name: str, meta: dict) -> Path:
    """Half-precision weights + encoder name + level + meta, written atomically."""
    return save_model_file(path, FORMAT, dec, meta, encoder=encoder_name, level=dec.level,
                           input_scale=dec.input_scale)


def shipped(encoder_name: str = NORMALISED) -> dict[str, Path]:
    """{name: decoder file} shipped for `encoder_name`: a level (relu1_1 …) for the
    reconstruction decoders WCT uses, `relu3_1-adain` for the one fine-tuned with AdaIN's objective."""
    out = {}
    for p in sorted(data_dir().glob("decoder_*.pt")):
        enc, _, level = p.stem[len("decoder_"):].rpartition("_relu")
        if enc == encoder_name:
            out["relu" + level] = p
    return out


def _load(path: Path) -> DecoderFile:
    doc = load_model_file(path, FORMAT, "decoder", " (write one with painterly train-decoder)")
    try:
        dec = Decoder(doc["level"], doc.get("input_scale", 1.0))
        dec.load_state_dict(doc["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError, InputError) as e:
        raise InputError(f"decoder {path} is damaged ({type(e).__name__})") from None
    return DecoderFile(dec.eval().requires_grad_(False), doc["encoder"], doc["level"], doc.get("meta", {}))


@lru_cache(maxsize=16)
def _cached_decoder(path: str, mtime: float, device: str) -> DecoderFile:
    d = _load(Path(path))
    d.decoder.to(device)
    return d


def load_decoder(spec: Union[str, os.PathLike], device: str = "cpu") -> DecoderFile:
    """A decoder file path, or a level name (relu1_1 …) for the shipped decoder of that level."""
    p = Path(spec)
    if not p.is_file():
        have = shipped()
        if str(spec) in LEVELS or str(spec) in have:
            if str(spec) not in have:
                raise InputError(f"no decoder for {spec} is shipped (shipped: {', '.join(have) or 'none'}); "
                                 f"train one with painterly's decoder trainer (level {spec})")
            p = have[str(spec)]
        else:
            raise InputError(f"decoder {spec} does not exist (give a file from train-decoder or a shipped "
                             f"decoder: {', '.join(have)})")
    return _cached_decoder(str(p.resolve()), p.stat().st_mtime, device)


def convert_linear_style_transfer(dec_path: Union[str, os.PathLike], out: Union[str, os.PathLike]) -> Path:
    """Wrap LinearStyleTransfer's dec_r31.pth as a painterly decoder file (run once, shipped)."""
    dec = Decoder("relu3_1").load_linear_style_transfer(torch.load(dec_path, map_location="cpu", weights_only=True))
    meta = {"source": "LinearStyleTransfer (Li et al. 2019) dec_r31.pth, BSD-2-Clause; see LICENSE-LinearStyleTransfer",
            "objective": "reconstruction"}
    return save_decoder(dec, out, NORMALISED, meta)


__all__ = ["DecoderFile", "LEVELS", "NORMALISED", "build_encoder", "check_level", "convert_linear_style_transfer",
           "encoder", "load_decoder", "save_decoder", "shipped", "weights"]
