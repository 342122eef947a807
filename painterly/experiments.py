"""Reproducible experiments: `painterly experiment NAME -o DIR` writes report.md, results.json,
image grids and plots. Each experiment is a function of (output folder, quick, device) that
runs methods through their public functions and returns its raw results.

Ratios are stated in the paper's normalisation (Gatys et al.: content 1/2 sum (F-P)^2, style
sum_l (1/5) E_l) and converted to painterly's size-normalised weights: with N*M the content
layer's channels times positions, beta_painterly = beta_paper / (5 * N * M) for alpha = 1.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Callable

import torch
from PIL import Image, ImageDraw

from . import images, methods
from .methods.gatys import stylize as gatys
from .bench import seconds_per_step
from .errors import InputError
from .options import OptionError
from .examples import demo_pair

PAPER_RATIOS = (1.0, 1e-3, 1e-6, 1e-9)   # alpha / beta (content over style), as the paper writes it
SOURCE_SPEED = {"gatys_s": 39.0, "network_s": 0.6, "gatys_steps": 100}   # the source report, on a GPU
SOURCE_TV_WEIGHT = 1e6                   # the TV weight of the source setting of content-layer


def layer_nm(content: torch.Tensor, layer: str = "conv4_2") -> int:
    """N*M (channels x positions) of VGG `layer` for this content image: paper loss = painterly loss x N M."""
    h, w = content.shape[-2:]
    down = {"1": 1, "2": 2, "3": 4, "4": 8, "5": 16}[layer[4]]
    channels = {"1": 64, "2": 128, "3": 256, "4": 512, "5": 512}[layer[4]]
    return channels * (h // down) * (w // down)


def paper_to_painterly_beta(ratio: float, content: torch.Tensor, layer: str = "conv4_2") -> float:
    """beta for painterly (alpha = 1) equivalent to the paper's alpha/beta = `ratio` at this size."""
    return (1.0 / ratio) / (5 * layer_nm(content, layer))


def grid(tiles: list[tuple[str, torch.Tensor]], cols: int, path: Path, tile: int = 256) -> Path:
    """Labelled image grid (PNG) of (label, image tensor) pairs."""
    thumbs = []
    for label, t in tiles:
        im = images.tensor_to_pil(t)
        im.thumbnail((tile, tile))
        thumbs.append((label, im))
    cell_h = max(im.height for _, im in thumbs) + 18   # label right under the tallest image
    rows = math.ceil(len(thumbs) / cols)
    g = Image.new("RGB", (cols * tile, rows * cell_h), "white")
    for i, (label, im) in enumerate(thumbs):
        x, y = (i % cols) * tile, (i // cols) * cell_h
        g.paste(im, (x + (tile - im.width) // 2, y))
        ImageDraw.Draw(g).text((x + 4, y + cell_h - 15), label, fill="black")
    return images.save_image(g, path)


def _plot(path: Path, series: dict[str, list[float]], title: str, ylabel: str, logy: bool = True) -> Path:
    from .plots import plot_curves
    return plot_curves({k: (range(1, len(ys) + 1), ys) for k, ys in series.items()}, path, title,
                       xlabel="step (function evaluation)", ylabel=ylabel, smooth=False, logy=logy)


def _table(header: list[str], rows: list[list]) -> str:
    def fmt(v) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


SOURCE_RATIOS = (1.0, 1e3, 1e6, 1e9)   # the source report's Table 1 labels (its "alpha/beta", style over content)
SETTINGS = ("paper", "source")


def _check_setting(setting: str) -> tuple[str, ...]:
    if setting == "both":
        return SETTINGS
    if setting not in SETTINGS:
        raise OptionError("setting", f"'{setting}' is unknown: use paper, source or both")
    return (setting,)


def _sweep(c: torch.Tensor, s: torch.Tensor, setting: str, steps: int, device: str) -> tuple[list[dict], list]:
    """One row of runs: the paper's (noise init, its ratios) or the source's (content init, its labels)."""
    labels = PAPER_RATIOS if setting == "paper" else SOURCE_RATIOS
    init = "noise" if setting == "paper" else "content"
    nm = layer_nm(c)
    results, tiles = [], [("photo", c), ("painting", s)]
    for label in labels:
        ratio = label if setting == "paper" else 1.0 / label      # the paper's alpha/beta
        beta = paper_to_painterly_beta(ratio, c)
        r = gatys.run(c, [s], gatys.GatysOptions(steps=steps, style_weight=beta, init=init, seed=0, device=device))
        last = r.history[-1]
        results.append({
            "setting": setting, "init": init, "label": label, "paper_alpha_over_beta": ratio,
            "paper_beta_over_alpha": 1 / ratio, "painterly_beta": beta,
            "weighted_content": last["content"], "weighted_style": beta * last["style"], "total": last["total"],
            # the same two terms in the paper's normalisation (content 1/2 sum, style sum_l E_l / 5, alpha = 1)
            "paper_weighted_content": nm * last["content"], "paper_weighted_style": nm * beta * last["style"],
            "steps": len(r.history), "stopped": r.stopped})
        tiles.append((("alpha/beta = " if setting == "paper" else "source a/b = ") + f"{label:g}", r.image))
    return results, tiles


def ratio_sweep(out: Path, quick: bool, device: str, setting: str = "both", size: int | None = None) -> dict:
    """The alpha/beta sweep in the paper's setting (white noise, Starry Night, alpha/beta = 1..1e-9) and
    the source report's Table 1 setting (from the photo, The Great Wave, its labels 1..1e9):
    final weighted losses and images per ratio."""
    from .examples import SOURCE_STYLE, bundled
    size, steps = (size or 64, 5) if quick else (size or 256, 100)
    c, starry = demo_pair(size)
    paintings = {"paper": starry, "source": images.load_image(bundled(SOURCE_STYLE))}
    results, md = [], [f"# Ratio sweep (Gatys)\n\nTübingen, {c.shape[-1]}x{c.shape[-2]} px, {steps} L-BFGS steps, "
                       "content conv4_2, style conv1_1..conv5_1, encoder vgg19-caffe-q8, seed 0. Two settings:\n\n"
                       "- **paper** (Gatys et al. 2016, Fig. 3): from white noise, *The Starry Night*, ratios as the "
                       "paper writes them, alpha/beta = content weight / style weight = 1, 10^-3, 10^-6, 10^-9.\n"
                       "- **source** (the source report's Table 1, its own setting): from the content image, *The "
                       "Great Wave off Kanagawa*, ratios as its table labels them, 1, 10^3, 10^6, 10^9 (style "
                       "over content: label 10^k is the paper's alpha/beta = 10^-k, the same four weightings).\n\n"
                       "Weighted losses are given in the paper's normalisation (alpha x 1/2 sum (F-P)^2 and "
                       "beta x sum_l E_l / 5, alpha = 1), the form the source's table lists them in; "
                       "painterly's size-normalised beta is beta_paper / (5 N M), N M = channels x positions of "
                       "conv4_2 (results.json also has the size-normalised values).\n"]
    for st in _check_setting(setting):
        rows, tiles = _sweep(c, paintings[st], st, steps, device)
        results += rows
        name = "ratio_sweep.png" if st == "paper" else "ratio_sweep_source.png"
        grid(tiles, len(tiles), out / name, tile=192)
        title = ("Paper setting: from white noise, The Starry Night" if st == "paper" else
                 "Source setting (the source report's Table 1): from the photo, The Great Wave")
        head = ["paper alpha/beta", "beta/alpha"] if st == "paper" else ["source label", "= paper alpha/beta"]
        md.append(f"## {title}\n\n" + _table(
            head + ["painterly beta", "alpha x content", "beta x style", "stopped"],
            [[f"{r['label']:g}", f"{(r['paper_beta_over_alpha'] if st == 'paper' else r['paper_alpha_over_beta']):g}",
              r["painterly_beta"],
              r["paper_weighted_content"], r["paper_weighted_style"], r["stopped"] or "ran all steps"]
             for r in rows]) + f"\n\n![{st} setting]({name})\n")
    if len(_check_setting(setting)) == 2:
        md.append("## How they differ\n\nThe two settings share the four weightings but not the start: from noise "
                  "(paper) the photo has to be rebuilt from its conv4_2 features within the run, from the photo "
                  "(source) it is there from the first step and only has to be kept, so at the same weighting "
                  "the source's run keeps more of the photo (its lower alpha x content; the images).\n")
    return {"markdown": "\n".join(md), "results": results}


def content_layer(out: Path, quick: bool, device: str, setting: str = "both", size: int | None = None) -> dict:
    """Content from a shallow (conv2_2) vs a deep (conv4_2) layer: the paper's setting (no TV loss)
    and the source report's (its block2 vs block4, i.e. conv2_2 vs conv4_2, with a TV loss)."""
    size, steps = (size or 64, 5) if quick else (size or 256, 100)
    c, s = demo_pair(size)
    tv = {"paper": 0.0, "source": SOURCE_TV_WEIGHT}
    results, tiles = [], [("photo", c)]
    for st in _check_setting(setting):
        for layer, block in (("conv2_2", "block2"), ("conv4_2", "block4")):
            r = gatys.run(c, [s], gatys.GatysOptions(steps=steps, content_layers={layer: 1.0}, init="noise",
                                                     tv_weight=tv[st], seed=0, device=device))
            last = r.history[-1]
            results.append({"setting": st, "content_layer": layer, "source_name": f"{block}_conv2",
                            "tv_weight": tv[st], "content": last["content"], "style": last["style"],
                            "tv": last["tv"], "total": last["total"], "stopped": r.stopped})
            tiles.append((f"{st}: {layer}" + (f" + TV" if tv[st] else ""), r.image))
    grid(tiles, len(tiles), out / "content_layer.png", tile=192)
    md = (f"# Content layer: shallow vs deep\n\n{steps} L-BFGS steps from white noise, {c.shape[-1]}x{c.shape[-2]} "
          "px, Tübingen x The Starry Night, seed 0, painterly's default beta 1e-4 for both layers (its content loss "
          "is a mean over the layer's N M values, so the weight means the same per feature value at either "
          "layer). Two settings:\n\n"
          "- **paper** (Gatys et al. 2016, Fig. 5): no smoothness term. The paper reports that matching a "
          "shallow layer keeps the photo's fine pixel detail while a deep one keeps only the arrangement of "
          "objects.\n"
          f"- **source** (the source report's setting): its block2 vs block4 content layers (Keras names "
          f"block2_conv2 / block4_conv2 = conv2_2 / conv4_2) *with* a total-variation loss (weight "
          f"{SOURCE_TV_WEIGHT:g} here; the source's start image and painting for this experiment are not stated, "
          "so ours are kept).\n\n"
          "At equal beta the two layers' content losses differ in scale (table), which decides how much of "
          "the photo survives a run of this length from noise; the TV term smooths the result (tv loss "
          "column: source rows against paper rows).\n\n"
          + _table(["setting", "content layer", "source's name", "tv weight", "content loss", "style loss",
                    "tv loss", "total"],
                   [[r["setting"], r["content_layer"], r["source_name"], r["tv_weight"], r["content"], r["style"],
                     r["tv"], r["total"]] for r in results])
          + "\n\n![content layer](content_layer.png)\n")
    return {"markdown": md, "results": results}


def weights_grid(out: Path, quick: bool, device: str) -> dict:
    """Style weight x TV weight grid from the content image."""
    size, steps = (64, 20) if quick else (384, 100)
    c, s = demo_pair(size)
    betas, tvs = (1e-5, 1e-4, 1e-3), (0.0, 1e6, 1e7)
    results, tiles = [], []
    for tv in tvs:
        for beta in betas:
            r = gatys.run(c, [s], gatys.GatysOptions(steps=steps, style_weight=beta, tv_weight=tv, device=device))
            last = r.history[-1]
            results.append({"style_weight": beta, "tv_weight": tv, "content": last["content"],
                            "style": last["style"], "tv": last["tv"], "stopped": r.stopped})
            tiles.append((f"beta {beta:g}, tv {tv:g}", r.image))
    grid(tiles, len(betas), out / "weights_grid.png")
    md = (f"# Weights grid\n\n{steps} L-BFGS steps from the photo, {c.shape[-1]}x{c.shape[-2]} px; columns: style "
          "weight beta, rows: total-variation weight.\n\n"
          + _table(["beta", "tv weight", "content loss", "style loss", "tv loss"],
                   [[r["style_weight"], r["tv_weight"], r["content"], r["style"], r["tv"]] for r in results])
          + "\n\n![weights grid](weights_grid.png)\n")
    return {"markdown": md, "results": results}


def loss_curves(out: Path, quick: bool, device: str) -> dict:
    """Loss per step for L-BFGS vs Adam, and Adam with steps too large to settle."""
    size, steps = (64, 8) if quick else (256, 200)
    c, s = demo_pair(size)
    runs = {"L-BFGS": gatys.GatysOptions(steps=steps, device=device),
            "Adam lr 0.02": gatys.GatysOptions(steps=steps, optimizer="adam", device=device),
            "Adam lr 0.5 (steps too large)": gatys.GatysOptions(steps=steps, optimizer="adam", lr=0.5,
                                                                device=device)}
    results, curves = {}, {}
    for label, o in runs.items():
        r = gatys.run(c, [s], o)
        results[label] = {"total": [h["total"] for h in r.history], "style": [h["style"] for h in r.history],
                          "content": [h["content"] for h in r.history], "stopped": r.stopped}
        curves[label] = results[label]["total"]
    _plot(out / "loss_curves.png", curves, "Total loss per step", "total loss")
    rows = [[k, len(v["total"]), v["total"][0], v["total"][-1], v["stopped"] or "ran all steps"]
            for k, v in results.items()]
    md = (f"# Loss curves\n\n{c.shape[-1]}x{c.shape[-2]} px, {steps} steps from the photo.\n\n"
          + _table(["run", "steps", "first total", "last total", "stopped"], rows)
          + "\n\n![loss curves](loss_curves.png)\n")
    return {"markdown": md, "results": results}


def speed(out: Path, quick: bool, device: str) -> dict:
    """Seconds per image for every method at 256/512/1024 px on this machine: Gatys (per step,
    multiplied out to 300 steps) next to the one-pass methods (median of several runs)."""
    from .bench import inference_worker, one_pass_methods
    optimise = methods.default_for(None)       # Gatys: the method a run uses when none is named
    sizes, timed, repeats = ((64, 96), 3, 1) if quick else ((256, 512, 1024), 4, 3)
    steps_per_image = 300
    rows, results = [], []
    for size in sizes:
        c, s = demo_pair(size)
        per_step = seconds_per_step(gatys.run(c, [s], gatys.GatysOptions(steps=timed + 1, device=device)).history)
        res = {"method": optimise, "size": size, "seconds_per_step": per_step,
               "seconds_per_image": per_step * steps_per_image, "steps_per_image": steps_per_image}
        results.append(res)
        rows.append(["gatys (L-BFGS, 300 steps)", f"{c.shape[-1]}x{c.shape[-2]}", res["seconds_per_image"], ""])
        for method in (m.name for m in one_pass_methods()):
            r = inference_worker(method, size, repeats, device)
            results.append({"method": method, "size": size, "what": r["what"],
                            "seconds_per_image": r["seconds_per_image"]})
            rows.append([f"{method} ({r['what']})", f"{r['width']}x{r['height']}", r["seconds_per_image"],
                         f"{res['seconds_per_image'] / r['seconds_per_image']:.0f}x"])
    md = (f"# Speed\n\nSeconds per image on this machine ({device}). Gatys: measured over {timed} steps after "
          "one warm-up step and multiplied out to 300 steps. One-pass methods: median of "
          f"{repeats} run(s) after a warm-up, style image at the output size; `model` is a feed-forward "
          "network (16 channels, 5 residual blocks), `cyclegan` the source's DnCNN generator (depth 6, 64 "
          "channels). The last column is how many times faster than Gatys at the same size.\n\n"
          + _table(["method", "output", "s / image", "vs gatys"], rows) + "\n")
    md += source_speed_section(results, sizes, device)
    return {"markdown": md, "results": results}


def source_speed_section(results: list[dict], sizes, device: str) -> str:
    """The source report's own comparison, Gatys vs the perceptual-loss network (Johnson et al.;
    painterly's `model`), its GPU numbers beside ours from the speed experiment's `results`."""
    src = [["source report (GPU)", "not stated", SOURCE_SPEED["gatys_s"], SOURCE_SPEED["network_s"],
            f"{SOURCE_SPEED['gatys_s'] / SOURCE_SPEED['network_s']:.0f}x"]]
    optimise, network = methods.default_for(None), methods.default_for(model="any")   # Gatys; Johnson's network
    by = {(r["method"], r["size"]): r for r in results}
    for size in sizes:
        g, m = by[optimise, size], by[network, size]
        g100 = g["seconds_per_step"] * SOURCE_SPEED["gatys_steps"]
        src.append([f"painterly, this machine ({device})", f"long side {size}", g100, m["seconds_per_image"],
                    f"{g100 / m['seconds_per_image']:.0f}x"])
    return ("\n## The source's setting: Gatys vs the perceptual-loss network\n\nThe source report timed one "
           "Gatys image against one pass of a perceptual-loss (Johnson et al.) network on a GPU: 39 s vs "
           "0.6 s (65x). The rows below are the same "
           "comparison here: Gatys at 100 steps (the iterations of the source's Table 1; its timing's step "
           "count is not stated) from the seconds per step measured above, against "
           "painterly's feed-forward `model`. The source's row is its GPU, ours this CPU, so compare the "
           "ratios, not the seconds.\n\n"
           + _table(["who", "size", "gatys s / image", "network s / image", "gatys / network"], src) + "\n")


def cyclegan_settings(out: Path, quick: bool, device: str, scale: float = 1.0,
                      domain_a: str | None = None, domain_b: str | None = None) -> dict:
    """The source's three CycleGAN settings side by side: sample grids and loss curves.
    Epochs are the source's 200 × `scale`; `--quick` trains tiny networks on tiny crops."""
    from .methods.cyclegan.train import PRESETS, CycleGANOptions, train_cyclegan
    if domain_a is None or domain_b is None:
        domain_a, domain_b = _bundled_domains(out / "data")
    results, rows, curves = {}, [], {}
    for name, preset in PRESETS.items():
        if quick:
            opts = CycleGANOptions(**{**preset, "batch_size": min(preset["batch_size"], 4)}, size=32, channels=8,
                                   depth=2, epochs=2, epoch_size=8, sample_every=1, checkpoint_every=1)
        else:
            opts = CycleGANOptions(**preset, epochs=max(1, round(200 * scale)), sample_every=max(1, round(50 * scale)))
        run = out / name
        res = train_cyclegan(domain_a, domain_b, run, opts, device=device, resume=(run / "checkpoint.pt").exists())
        h = res.history
        tail = h[-max(1, len(h) // 10):]
        results[name] = {"options": {"batch_size": opts.batch_size, "lr": opts.lr, "schedule": opts.schedule,
                                     "epochs": opts.epochs}, "steps": res.step, "seconds": res.seconds,
                         "final": {k: sum(r[k] for r in tail) / len(tail) for k in ("G", "cycle", "D_A", "D_B")},
                         "history": h}
        f = results[name]["final"]
        rows.append([name, opts.batch_size, opts.lr, opts.schedule, opts.epochs, res.step, f["cycle"], f["G"],
                     f["D_A"], f["D_B"], res.seconds / 60])
        curves[name] = h
        last = sorted((run / "samples").glob("epoch_*.png"))[-1]
        results[name]["samples"] = str(last.relative_to(out))
    from .plots import history_series, plot_curves
    for key in ("cycle", "G"):
        plot_curves({name: history_series(h, [key], x="epoch")[key] for name, h in curves.items()},
                    out / f"{key}_loss.png", f"CycleGAN settings: {key} loss", xlabel="epoch", ylabel=f"{key} loss",
                    logy=False)
    md = ("# CycleGAN settings\n\nThe source project's three settings, trained on the same two folders "
          f"(A: `{domain_a}`, B: `{domain_b}`), {'tiny networks (--quick)' if quick else 'DnCNN generator and the source discriminator'}. "
          "Losses are the mean of the last tenth of the run.\n\n"
          + _table(["setting", "batch", "lr", "schedule", "epochs", "steps", "cycle", "G", "D_A", "D_B", "minutes"],
                   rows)
          + "\n\n![cycle loss](cycle_loss.png)\n\n![generator loss](G_loss.png)\n\n"
          + "Sample grids (rows: input, translated, cycled back; A images first, then B):\n\n"
          + "\n".join(f"- {n}: ![{n}]({results[n]['samples']})" for n in PRESETS) + "\n")
    for r in results.values():
        r.pop("history")
    return {"markdown": md, "results": results}


def _bundled_domains(folder: Path) -> tuple[str, str]:
    """Two tiny domains from the bundled images: crops of the photo (A) and the painting (B)."""
    from .examples import CONTENT, STYLE, bundled
    for sub, name in (("a", CONTENT), ("b", STYLE)):
        d = folder / sub
        d.mkdir(parents=True, exist_ok=True)
        im = Image.open(bundled(name)).convert("RGB")
        w, h = im.size
        for i in range(6):
            x = (w - h) * i // 5
            im.crop((x, 0, x + h, h)).save(d / f"{i}.png")
    return str(folder / "a"), str(folder / "b")


EXPERIMENTS: dict[str, Callable[[Path, bool, str], dict]] = {
    "ratio-sweep": ratio_sweep, "content-layer": content_layer, "weights-grid": weights_grid,
    "loss-curves": loss_curves, "speed": speed, "cyclegan-settings": cyclegan_settings,
}


def run_experiment(name: str, out_dir: str | Path, quick: bool = False, device: str = "cpu",
                   **extra) -> Path:
    """Run experiment `name`, writing report.md and results.json into `out_dir`. `extra` goes to
    experiments that take more (ratio-sweep, content-layer: setting, size; cyclegan-settings: scale,
    domain_a, domain_b)."""
    if name not in EXPERIMENTS:
        raise InputError(f"unknown experiment '{name}': choose one of {', '.join(EXPERIMENTS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    res = EXPERIMENTS[name](out, quick, device, **extra) if extra else EXPERIMENTS[name](out, quick, device)
    meta = {"experiment": name, "quick": quick, "device": device, "seconds": time.perf_counter() - t0,
            "torch": torch.__version__, "date": time.strftime("%Y-%m-%d")}
    images.atomic_write_text(out / "results.json", json.dumps({**meta, "results": res["results"]}, indent=1))
    flags = "".join(f" --{k.replace('_', '-')} {v}" for k, v in extra.items())
    footer = (f"\n---\nGenerated by `painterly experiment {name}{' --quick' if quick else ''}{flags}` on {meta['date']} "
              f"({device}, torch {meta['torch']}) in {meta['seconds']:.0f} s. Raw numbers: results.json.\n")
    return images.atomic_write_text(out / "report.md", res["markdown"] + footer)
