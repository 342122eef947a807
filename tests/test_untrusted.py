"""Model files and checkpoints are untrusted: loading one never runs code (weights_only), and a
hostile file gets one line and exit code 2 from every command that reads such files."""

import os
import random

import numpy as np
import pytest
import torch

from painterly import checkpoints
from painterly.cli import main
from painterly.errors import InputError


class _Payload:
    """Pickles as a call to os.system: what a malicious 'model' downloaded from the web would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture()
def evil(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": "painterly-feedforward", "version": 1, "width": 8, "blocks": 1,
                "state_dict": {}, "meta": _Payload(marker)}, path)
    return path, marker


def test_the_payload_is_real(evil):
    """Sanity check of the test itself: an unrestricted load would run the command."""
    path, marker = evil
    torch.load(path, weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("argv", [
    ["stylize", "{photo}", "--model", "{evil}", "-o", "{out}.png"],
    ["stylize", "{photo}", "{photo}", "--method", "adain", "--decoders", "{evil}", "-o", "{out}.png"],
    ["translate", "{photo}", "--model", "{evil}", "-o", "{out}.png"],
    ["export", "{evil}", "--onnx", "{out}.onnx", "--no-check"],
])
def test_a_malicious_model_file_runs_nothing(evil, capsys, tmp_path, content_path, argv):
    path, marker = evil
    code = main([a.format(photo=content_path, evil=path, out=tmp_path / "out") for a in argv])
    err = capsys.readouterr().err.strip()
    assert not marker.exists(), "loading the file ran its code"
    assert code == 2 and len(err.splitlines()) == 1 and str(path) in err and "run code" in err


def test_a_malicious_checkpoint_is_refused_on_resume(tmp_path, capsys, content_path):
    marker = tmp_path / "pwned"
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(content_path.read_bytes())
    torch.save({"kind": "train-style", "step": 1, "rng": _Payload(marker)}, tmp_path / "m.ckpt.pt")
    code = main(["train-style", str(content_path), "--data", str(photos), "-o", str(tmp_path / "m.pt"), "--resume",
                 "--quiet"])
    err = capsys.readouterr().err.strip()
    assert not marker.exists() and code == 2 and len(err.splitlines()) == 1 and "m.ckpt.pt" in err


def test_checkpoints_are_plain_and_older_numpy_random_states_still_load(tmp_path):
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    checkpoints.save({"rng": checkpoints.rng_state()}, tmp_path / "new.pt")
    # the form earlier painterly versions wrote: NumPy's state as an array
    checkpoints.save({"rng": {"python": random.getstate(), "numpy": np.random.get_state(),
                              "torch": torch.get_rng_state()}}, tmp_path / "old.pt")
    want = (random.random(), np.random.rand(), torch.rand(1).item())
    for name in ("new.pt", "old.pt"):
        checkpoints.set_rng_state(checkpoints.load(tmp_path / name)["rng"])
        assert (random.random(), np.random.rand(), torch.rand(1).item()) == want


def test_shipped_model_files_load_without_executing_code():
    from painterly.methods.arbitrary.pairs import load_decoder, shipped
    from painterly.methods.feedforward.model import zoo
    assert {m.name for m in zoo()} >= {"starry_night", "picasso"}
    assert all(load_decoder(p).level for p in shipped().values())
    with pytest.raises(InputError, match="does not exist"):
        checkpoints.load("/nonexistent/file.pt")


@pytest.mark.parametrize("make", ["plain pickle", "pickle with numpy"])
def test_a_foreign_pickle_is_one_line_without_torchs_warning(tmp_path, capsys, content_path, make):
    """torch's weights-only reader warns "Detected pickle protocol 4 ..." (with its site-packages
    path) on a plain pickle: the user sees only painterly's line."""
    import pickle
    import warnings
    path = tmp_path / "model.pt"
    with open(path, "wb") as f:
        pickle.dump({"a": 1} if make == "plain pickle" else {"a": np.zeros(3)}, f, protocol=4)
    for argv in (["stylize", str(content_path), "--model", str(path), "--size", "32", "-o", str(tmp_path / "o.png")],
                 ["stylize", str(content_path), str(path), "--method", "magenta", "--size", "32",
                  "-o", str(tmp_path / "o.png")]):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            code = main(argv)
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and str(path) in err, err
        assert not [w for w in caught if "pickle" in str(w.message)], [str(w.message) for w in caught]
