"""Experiments in --quick form: reports exist, tables have their rows, numbers move as expected."""

import json
import math

import pytest

from painterly import methods
from painterly.cli import main
from painterly.experiments import EXPERIMENTS, paper_to_painterly_beta


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    out = {}
    for name in EXPERIMENTS:
        d = tmp_path_factory.mktemp(name)
        assert main(["experiment", name, "-o", str(d), "--quick"]) == 0
        out[name] = (d, json.loads((d / "results.json").read_text()), (d / "report.md").read_text())
    return out


def finite(x):
    return isinstance(x, float) and math.isfinite(x)


def test_default_beta_matches_the_papers_ratio():
    """Our default beta 1e-4 is the paper's alpha/beta = 1e-3 at 512x384, within 30 %."""
    import torch
    beta = paper_to_painterly_beta(1e-3, torch.zeros(1, 3, 384, 512))
    assert 0.7e-4 < beta < 1.3e-4 * 1.3


def test_ratio_sweep(reports):
    d, doc, md = reports["ratio-sweep"]
    paper = [r for r in doc["results"] if r["setting"] == "paper"]
    assert [r["paper_alpha_over_beta"] for r in paper] == [1.0, 1e-3, 1e-6, 1e-9]
    assert all(finite(r["weighted_style"]) for r in paper if not r["stopped"])
    # more style weight -> lower (unweighted) style loss relative to weight: the weighted style share grows
    shares = [r["weighted_style"] / r["total"] for r in paper if not r["stopped"]]
    assert shares == sorted(shares)
    assert (d / "ratio_sweep.png").exists() and md.count("\n| ") >= 10 and "paper alpha/beta" in md


def test_ratio_sweep_source_setting(reports):
    """The source report's Table 1: from the photo, The Great Wave, its labels 1..1e9 = the paper's 1..1e-9."""
    d, doc, md = reports["ratio-sweep"]
    paper = [r for r in doc["results"] if r["setting"] == "paper"]
    source = [r for r in doc["results"] if r["setting"] == "source"]
    assert [r["label"] for r in source] == [1.0, 1e3, 1e6, 1e9]
    assert [r["paper_alpha_over_beta"] for r in source] == [r["paper_alpha_over_beta"] for r in paper]
    assert {r["init"] for r in source} == {"content"} and {r["init"] for r in paper} == {"noise"}
    # starting from the photo keeps content: lower weighted content loss at every weighting
    assert all(s["paper_weighted_content"] < p["paper_weighted_content"] for s, p in zip(source, paper))
    assert (d / "ratio_sweep_source.png").stat().st_size > 1000
    assert "Source setting" in md and "How they differ" in md


def test_content_layer(reports):
    d, doc, md = reports["content-layer"]
    rows = doc["results"]
    assert [(r["setting"], r["content_layer"]) for r in rows] == [
        ("paper", "conv2_2"), ("paper", "conv4_2"), ("source", "conv2_2"), ("source", "conv4_2")]
    assert all(finite(r["total"]) for r in rows) and (d / "content_layer.png").exists()
    # the source's setting adds a TV loss: same start, smoother result at either layer
    paper, source = rows[:2], rows[2:]
    assert all(p["tv_weight"] == 0 < s["tv_weight"] for s, p in zip(source, paper))
    assert all(s["tv"] < p["tv"] for s, p in zip(source, paper))
    assert [r["source_name"] for r in source] == ["block2_conv2", "block4_conv2"]


def test_experiment_setting_option(tmp_path, capsys):
    """--setting picks one setting; it and --size are refused, in one line, where an experiment has none."""
    assert main(["experiment", "ratio-sweep", "-o", str(tmp_path / "r"), "--quick", "--setting", "source"]) == 0
    rows = json.loads((tmp_path / "r" / "results.json").read_text())["results"]
    assert {r["setting"] for r in rows} == {"source"} and not (tmp_path / "r" / "ratio_sweep.png").exists()
    capsys.readouterr()
    assert main(["experiment", "speed", "-o", str(tmp_path / "s"), "--setting", "source"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--setting" in err[0] and not (tmp_path / "s").exists()
    assert main(["experiment", "speed", "-o", str(tmp_path / "s"), "--size", "100"]) == 2
    assert "--size" in capsys.readouterr().err and not (tmp_path / "s").exists()


def test_weights_grid(reports):
    d, doc, md = reports["weights-grid"]
    rows = doc["results"]
    assert len(rows) == 9 and (d / "weights_grid.png").exists()
    style = [r["style"] for r in rows if r["tv_weight"] == 0.0]
    assert style[0] > style[1] > style[2]     # style loss falls as the style weight grows
    no_tv = [r["tv"] for r in rows if r["tv_weight"] == 0.0]
    high_tv = [r["tv"] for r in rows if r["tv_weight"] == 1e7]
    assert sum(high_tv) < sum(no_tv)          # the TV weight smooths


def test_loss_curves(reports):
    d, doc, md = reports["loss-curves"]
    lbfgs = doc["results"]["L-BFGS"]["total"]
    assert lbfgs[-1] < lbfgs[0] and (d / "loss_curves.png").stat().st_size > 1000


def test_speed(reports):
    d, doc, md = reports["speed"]
    rows = doc["results"]
    assert sorted({r["method"] for r in rows}) == sorted(methods.names())     # every registered method
    assert sorted({r["size"] for r in rows}) == [64, 96]
    assert all(r["seconds_per_image"] > 0 for r in rows)
    gatys = {r["size"]: r["seconds_per_image"] for r in rows if r["method"] == "gatys"}
    # one pass is far faster than 300 optimisation steps (the comparison the source reports)
    assert all(r["seconds_per_image"] < gatys[r["size"]] / 5 for r in rows if r["method"] != "gatys")
    assert "s / image" in md and "vs gatys" in md
    # the source report's own comparison (39 s vs 0.6 s on a GPU) sits beside ours
    assert "39" in md and "0.6" in md and "gatys / network" in md


def test_cyclegan_settings(reports):
    d, doc, md = reports["cyclegan-settings"]
    res = doc["results"]
    assert list(res) == ["small-batch", "large-batch", "large-batch-decay"]
    assert res["large-batch-decay"]["options"]["lr"] == 2e-3 and res["small-batch"]["options"]["batch_size"] == 2
    assert all(finite(r["final"]["cycle"]) for r in res.values())
    assert (d / "cycle_loss.png").exists() and all((d / r["samples"]).exists() for r in res.values())
    assert md.count("\n| ") >= 4


def test_unknown_experiments_and_misplaced_options_are_explained(capsys, tmp_path):
    assert main(["experiment", "nope", "-o", str(tmp_path)]) == 2
    assert "unknown experiment 'nope'" in capsys.readouterr().err
    assert main(["experiment", "speed", "-o", str(tmp_path), "--scale", "0.1"]) == 2
    assert "cyclegan-settings" in capsys.readouterr().err
