"""Convert Chiu & Gurari's PCA-distilled VGG encoder/decoder (TensorFlow bundle checkpoints) to the
PyTorch state dict painterly ships (`painterly/data/photo/pcakd_vgg.pt`), with numpy only.

    python scripts/photo_convert_pcakd.py [CKPT_DIR] [-o painterly/data/photo/pcakd_vgg.pt]

CKPT_DIR holds `sencoder.index`, `sencoder.data-00000-of-00001`, `sdecoder.*` (the folder
`VGG backbone/ckpts` of github.com/chiutaiyin/PCA-Knowledge-Distillation; default
../shared/weights/pcakd/vgg). The encoder's `conv_aux` eigenbases are used only in training
and are left out. Prints the sha256 of the written file (registered in painterly/weights.py).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from painterly.methods.photo.network import PCAKD, state_from_tf  # noqa: E402
from painterly.methods.photo.tfbundle import read_bundle  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ckpts", nargs="?", default=str(ROOT.parent / "shared" / "weights" / "pcakd" / "vgg"))
    ap.add_argument("-o", "--output", default=str(ROOT / "painterly" / "data" / "photo" / "pcakd_vgg.pt"))
    a = ap.parse_args()
    enc = read_bundle(Path(a.ckpts) / "sencoder")
    dec = read_bundle(Path(a.ckpts) / "sdecoder")
    state = state_from_tf(enc, dec)
    PCAKD().load_state_dict(state)           # every key, every shape
    out = Path(a.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part")
    # A plain dict of tensors, written deterministically: same input -> same bytes -> same sha256.
    torch.save({k: v.contiguous() for k, v in sorted(state.items())}, tmp)
    tmp.replace(out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    n = sum(v.numel() for v in state.values())
    print(f"wrote {out} ({n} parameters, {out.stat().st_size} bytes) sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
