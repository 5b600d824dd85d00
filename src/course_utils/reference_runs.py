"""Reference runs: the trained models the published book shows, and the command that makes them.

The chapters' saved outputs are the published book, and the ``ci`` profile they
are executed with cannot train a GAN long enough to show what the chapters are
about. So each run whose result a chapter interprets is trained ahead of time,
by this module, and committed to ``reference_runs/`` at the repository's root:

    python -m course_utils.reference_runs              # every run: resumes, skips current ones
    python -m course_utils.reference_runs mnist-wgan-gp --threads 2
    python -m course_utils.reference_runs --list       # which runs are current, stale or missing

Each run ``NAME`` leaves two files:

- ``NAME.pt``: the final generator and critic (float32 state dicts) and the
  training history: the losses of every iteration and the evaluations (metrics,
  samples) along the run (for the critics of Figure 1, the critic alone);
- ``NAME.json``, its manifest: the command, the settings, the code version (the
  commit, and :func:`course_utils.provenance.code_digest` of every course_utils
  module the run's code imports), the device, the threads, the iterations, the
  training time, the seed, the final metrics and the weights file's SHA-256.

While it trains, a run checkpoints into ``reference_runs/.work/`` (ignored by
git) at every evaluation: interrupt the command and run it again, and it resumes
there with the same result as an uninterrupted run. The last checkpoint stays
there, so that a run given more iterations resumes from where it ended. A run whose manifest
matches today's code and settings is skipped; ``--force`` retrains it.

``tests/test_reference_runs.py`` fails when a committed run no longer loads into
the current models, or was produced by code that has since changed what it
computes (:func:`stale_reasons`). ``$COURSE_REFERENCE_RUNS`` points the chapters
and the command at another folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from .provenance import module_digests, package_imports

__all__ = ["REFERENCE_DIR_ENV", "REFERENCE_RUNS", "LoadedRun", "cyclegan_domains", "load_reference_run",
           "mnist_profile", "module_digests_for", "reference_dir", "stacked_data", "stale_reasons",
           "train_reference_run"]

REFERENCE_DIR_ENV = "COURSE_REFERENCE_RUNS"
FORMAT = 1

# The MNIST runs: the four variants of "Training on images", at one size. The
# classifier behind the metrics is the cpu profile's (10 epochs).
_MNIST = dict(source="embedded", width=16, latent_dim=64, lr_scale=4.0,
              iterations=14_000, evaluate_every=400, classifier_epochs=10, seed=0)
# The 2-D runs of "Training on 2-D toys" (WGAN-GP with the λ of the authors'
# toy script), which "Discriminator optimal transport" also uses.
_TOY = dict(width=128, lr_scale=2.0, penalty_weight=0.1, iterations=5000,
            evaluate_every=250, samples=1000, seed=0)
# The 25 Gaussians need longer: at 5,000 iterations the Wasserstein generators still
# blurred the grid (WGAN-GP: 11 of 25 modes, 12 % of its samples within 3σ of a mode; at
# 20,000: 25 of 25 and 90 %). A snapshot every 1,000 keeps 21 of them, as for the others.
_TOY_25 = dict(_TOY, iterations=20_000, evaluate_every=1000)

# The critics of Gulrajani et al.'s Figure 1(a) in "Keeping the critic Lipschitz":
# trained against the fixed generator "data + unit Gaussian noise", clipped at
# c = 0.01 or penalised with λ = 10 (3 × 256 units; the paper has 512).
_CRITIC = dict(width=256, steps=3000, batch_size=256, lr=1e-3, samples=1000, seed=0)

# OT-GAN and the Sinkhorn GAN of "Entropic optimal transport and OT-GAN": the MNIST networks
# of the image chapter (the critic with a 256-feature head) and ε = 0.1 on costs in [0, 2].
# One iteration is one update, of the critic or of the generator. The OT-GAN runs' iterations
# give each about 35-40 minutes on one thread, as long as WGAN-GP's 14,000 took; the pixel run
# stops at 15.5 minutes. The chapter compares them with WGAN-GP's history at equal time.
_OTGAN_MNIST = dict(kind="otgan", dataset="mnist", source="embedded", width=16, features=256,
                    latent_dim=64, epsilon=0.1, n_gen=3, lr=3e-4, classifier_epochs=10, seed=0)
_OTGAN_TOY = dict(kind="otgan", width=128, features=32, latent_dim=2, epsilon=0.1, n_gen=3,
                  lr=3e-4, samples=1000, seed=0, cost="learned", batch=128)
# CycleGAN between MNIST and the 8×8 digits ("Unpaired translation"): the paper's settings
# (least squares, λ = 10, λ_id = 5, pool 50, Adam 2e-4 with β1 = 0.5, linear decay over the
# second half) with networks and a batch sized for 28×28 digits. The ablations change one
# weight; the Wasserstein run changes only the adversarial term (a gradient penalty of 10).
_CYCLE = dict(kind="cyclegan", width=8, blocks=3, critic_width=16, batch=32, pool=50, lr=2e-4,
              loss="least-squares", penalty=None, cycle_weight=10.0, identity_weight=5.0,
              iterations=4000, evaluate_every=250, small_held_out=600, classifier_epochs=10,
              small_classifier_epochs=40, seed=0)

# Stacked MNIST ("Colour images and mode coverage"): the MNIST networks widened to 3 channels,
# the generator at width 32 and the critic at a quarter of it (8) or equal (32), each variant
# with its authors' loss, constraint and optimiser (learning rates × 4, as the MNIST runs).
# Modes and KL are read from 10,000 samples every 500 iterations.
_STACKED = dict(kind="stacked", width=32, latent_dim=64, lr_scale=4.0, iterations=5000,
                evaluate_every=500, train_images=24_000, samples=10_000, classifier_epochs=10, seed=0)

REFERENCE_RUNS: dict[str, dict] = {
    **{f"mnist-{algo}": dict(kind="mnist", algo=algo, **_MNIST)
       for algo in ("dcgan", "wgan", "wgan-gp", "sn-wgan")},
    # SN-WGAN with both networks twice as wide, for longer: at width 16 its confidence levels
    # off just under the chapter's bar of 0.85 (0.82–0.85 from iteration 7,600 on, and no
    # higher with half the learning rate, one critic step per iteration, a moving average of
    # the generator's weights or a wider critic alone, each tried for 1,600–4,800 iterations
    # from the final weights); at width 32 it was still climbing at 14,000 (0.842–0.856 over
    # its last ten evaluations) and levels off at about 0.85 by 20,000.
    "mnist-sn-wgan-wide": dict(kind="mnist", algo="sn-wgan", **dict(_MNIST, width=32, iterations=20_000)),
    **{f"toy-{dataset}-{variant}": dict(kind="toy", dataset=dataset, variant=variant,
                                        **(_TOY_25 if dataset == "25gaussians" else _TOY))
       for dataset in ("8gaussians", "25gaussians", "swissroll")
       for variant in ("gan", "wgan", "wgan-gp", "sn-wgan")},
    **{f"critic-{dataset}-{method}": dict(kind="critic", dataset=dataset, method=method, **_CRITIC)
       for dataset in ("8gaussians", "25gaussians", "swissroll")
       for method in ("clipping", "penalty")},
    "otgan-mnist-b64": dict(_OTGAN_MNIST, cost="learned", batch=64, iterations=30_000,
                            evaluate_every=1000),
    "otgan-mnist-b256": dict(_OTGAN_MNIST, cost="learned", batch=256, iterations=5400,
                             evaluate_every=150),
    "sinkhorn-mnist-pixel": dict(_OTGAN_MNIST, cost="pixel", batch=64, iterations=20_000,
                                 evaluate_every=1000),
    **{f"otgan-{dataset}": dict(_OTGAN_TOY, dataset=dataset, iterations=2000, evaluate_every=100)
       for dataset in ("8gaussians", "swissroll")},
    "cyclegan-lsgan": _CYCLE,
    "cyclegan-wgan-gp": dict(_CYCLE, loss="wasserstein", penalty=10.0),
    "cyclegan-no-cycle": dict(_CYCLE, cycle_weight=0.0),
    "cyclegan-no-identity": dict(_CYCLE, identity_weight=0.0),
    "cyclegan-adversarial-only": dict(_CYCLE, cycle_weight=0.0, identity_weight=0.0),
    **{f"stacked-{algo}-d{critic_width}": dict(_STACKED, algo=algo, critic_width=critic_width)
       for algo in ("dcgan", "wgan", "wgan-gp") for critic_width in (8, 32)},
}
"""Every reference run: its name and the settings that determine it."""

# The modules whose code a run of each kind executes (with everything they import).
_KIND_MODULES = {
    "mnist": ("course_utils.image_gans",),
    "toy": ("course_utils.toy_gans",),
    "critic": ("course_utils.critic_fit",),
    "otgan": ("course_utils.ot_gan", "course_utils.image_gans", "course_utils.toy_gans"),
    "cyclegan": ("course_utils.cycle_gan", "course_utils.translation_metrics", "course_utils.digit_domains"),
    "stacked": ("course_utils.colour_gans", "course_utils.stacked_mnist", "course_utils.training"),
}

LOADED: dict[str, str] = {}
"""Runs loaded in this process, name → SHA-256 of the weights file (for the chapters' stamps)."""


class _Critic(NamedTuple):
    generator: None
    critic: nn.Module


class _OTGAN(NamedTuple):
    generator: nn.Module
    critic: nn.Module | None
    """None for the pixel cost (the Sinkhorn GAN)."""


class _CycleGAN(NamedTuple):
    generator: nn.ModuleDict
    """``{"g": G: X → Y, "f": F: Y → X}``"""
    critic: nn.ModuleDict
    """``{"x": D_X, "y": D_Y}``"""


class LoadedRun(NamedTuple):
    generator: nn.Module
    critic: nn.Module
    history: dict
    manifest: dict


def reference_dir() -> Path:
    """``$COURSE_REFERENCE_RUNS``, else ``reference_runs/`` at the repository's root."""
    folder = os.environ.get(REFERENCE_DIR_ENV, "").strip()
    return Path(folder) if folder else Path(__file__).resolve().parents[2] / "reference_runs"


def _settings(name: str) -> dict:
    if name not in REFERENCE_RUNS:
        raise ValueError(f"unknown reference run {name!r}: choose among {', '.join(REFERENCE_RUNS)}")
    return REFERENCE_RUNS[name]


def mnist_profile(settings: dict):
    """The cpu profile with the MNIST sizes of ``settings``: what an MNIST reference run uses."""
    from .profiles import get_profile
    return dataclasses.replace(
        get_profile("cpu"), name="reference", mnist_source=settings["source"],
        mnist_width=settings["width"], mnist_latent_dim=settings["latent_dim"],
        mnist_lr_scale=settings["lr_scale"], mnist_iterations=settings["iterations"],
        mnist_metric_every=settings["evaluate_every"],
        classifier_epochs=settings["classifier_epochs"])


def _build(settings: dict, device):
    """The untrained models of a run, as its kind builds them (and what else training needs)."""
    if settings["kind"] == "critic":
        from .models import critic_mlp
        torch.manual_seed(settings["seed"])
        critic = critic_mlp(width=settings["width"]).to(device)
        return _Critic(None, critic)
    if settings["kind"] == "otgan":
        from .conv_models import dcgan_generator
        from .models import generator_mlp
        from .ot_gan import feature_critic, feature_critic_mlp
        torch.manual_seed(settings["seed"])
        if settings["dataset"] == "mnist":
            generator = dcgan_generator(settings["latent_dim"], settings["width"])
            critic = feature_critic(settings["width"], settings["features"])
        else:
            generator = generator_mlp(settings["latent_dim"], 2, settings["width"])
            critic = feature_critic_mlp(settings["width"], settings["features"])
        return _OTGAN(generator.to(device),
                      None if settings["cost"] == "pixel" else critic.to(device))
    if settings["kind"] == "cyclegan":
        from .cycle_gan import patch_critic, residual_generator
        torch.manual_seed(settings["seed"])
        generators = nn.ModuleDict({name: residual_generator(settings["width"], settings["blocks"])
                                    for name in ("g", "f")})
        critics = nn.ModuleDict({name: patch_critic(settings["critic_width"]) for name in ("x", "y")})
        return _CycleGAN(generators.to(device), critics.to(device))
    if settings["kind"] == "stacked":
        from .colour_gans import build_colour_variant
        return build_colour_variant(settings["algo"], width=settings["width"],
                                    critic_width=settings["critic_width"], latent_dim=settings["latent_dim"],
                                    lr_scale=settings["lr_scale"], device=device, seed=settings["seed"])
    if settings["kind"] == "mnist":
        from .image_gans import build_variant
        gan = build_variant(settings["algo"], mnist_profile(settings), device,
                            seed=settings["seed"])
    else:
        from .toy_gans import build_toy_variant
        gan = build_toy_variant(settings["variant"], width=settings["width"],
                                lr_scale=settings["lr_scale"],
                                penalty_weight=settings["penalty_weight"],
                                device=device, seed=settings["seed"])
    return gan


def _train(name: str, settings: dict, device, checkpoint: Path, progress: bool) -> tuple:
    """Train (or resume) one run; return its models, history and extra facts."""
    from .training import train_gan
    gan = _build(settings, device)
    if settings["kind"] == "critic":
        from .critic_fit import figure_one_critic
        start = time.perf_counter()
        critic, history = figure_one_critic(
            settings["dataset"], settings["method"], width=settings["width"], steps=settings["steps"],
            batch_size=settings["batch_size"], lr=settings["lr"], samples=settings["samples"],
            seed=settings["seed"], device=device, progress=progress)
        steps = settings["steps"]
        history.update(iteration=[steps], critic_steps=[steps], time=[time.perf_counter() - start])
        return None, critic, history, {}
    if settings["kind"] == "otgan":
        return _train_otgan(name, settings, gan, device, checkpoint, progress)
    if settings["kind"] == "cyclegan":
        return _train_cyclegan(name, settings, gan, device, checkpoint, progress)
    if settings["kind"] == "stacked":
        return _train_stacked(name, settings, gan, device, checkpoint, progress)
    if settings["kind"] == "mnist":
        from .image_gans import digit_metrics, train_variant
        from .mnist_data import load_mnist
        profile = mnist_profile(settings)
        data = load_mnist(settings["source"], device=device)
        metrics = digit_metrics(data, profile, progress=progress)
        run = train_variant(gan, data.train_images, metrics, profile=profile,
                            checkpoint=checkpoint, seed=settings["seed"], progress=progress)
        extra = {"floor": {k: v for k, v in metrics.floor.items()},
                 "classifier accuracy": metrics.accuracy,
                 "training digits": len(data.train_images)}
        return gan.generator, gan.critic, run.history, extra
    from .toy_gans import toy_bench, toy_evaluation
    bench = toy_bench(settings["dataset"], settings["samples"], device)
    evaluate = toy_evaluation(settings["dataset"], bench,
                              lipschitz=settings["variant"] != "gan")
    history = train_gan(gan.generator, gan.critic, bench["train"], loss=gan.loss,
                        constraint=gan.constraint, iterations=settings["iterations"],
                        latent_dim=2, batch_size=256, n_critic=5,
                        generator_optimizer=gan.generator_optimizer,
                        critic_optimizer=gan.critic_optimizer, seed=settings["seed"],
                        evaluate=evaluate, evaluate_every=settings["evaluate_every"],
                        checkpoint=checkpoint, checkpoint_every=settings["evaluate_every"],
                        progress=progress, desc=name)
    return gan.generator, gan.critic, history, {"floor": bench["floor"]}


def _train_otgan(name: str, settings: dict, gan: _OTGAN, device, checkpoint: Path,
                 progress: bool) -> tuple:
    """OT-GAN (learned cosine cost) or the Sinkhorn GAN (pixel cost) on MNIST or a 2-D toy."""
    from .ot_gan import cosine_cost, ot_gan_optimizers, pixel_cost, toy_ot_evaluation, train_ot_gan
    generator_optimizer, critic_optimizer = ot_gan_optimizers(gan.generator, gan.critic, settings["lr"])
    if settings["dataset"] == "mnist":
        from .image_gans import digit_metrics
        from .mnist_data import load_mnist
        data = load_mnist(settings["source"], device=device)
        metrics = digit_metrics(data, mnist_profile(dict(settings, lr_scale=1.0)), progress=progress)
        samples, evaluate = data.train_images, metrics.evaluation(settings["latent_dim"])
        extra = {"floor": dict(metrics.floor), "classifier accuracy": metrics.accuracy,
                 "training digits": len(data.train_images)}
    else:
        from .toy_gans import toy_bench
        bench = toy_bench(settings["dataset"], settings["samples"], device)
        samples, evaluate = bench["train"], toy_ot_evaluation(settings["dataset"], bench)
        extra = {"floor": bench["floor"]}
    history = train_ot_gan(gan.generator, gan.critic, samples,
                           cost=pixel_cost if settings["cost"] == "pixel" else cosine_cost,
                           epsilon=settings["epsilon"], iterations=settings["iterations"],
                           latent_dim=settings["latent_dim"], batch_size=settings["batch"],
                           n_gen=settings["n_gen"], generator_optimizer=generator_optimizer,
                           critic_optimizer=critic_optimizer, seed=settings["seed"], evaluate=evaluate,
                           evaluate_every=settings["evaluate_every"], checkpoint=checkpoint,
                           progress=progress, desc=name)
    return gan.generator, gan.critic, history, extra


def cyclegan_domains(settings: dict, device=None, progress: bool = True):
    """The two digit domains of a CycleGAN run and their judges: ``(x, y, judges)``."""
    from .digit_domains import load_small_digits
    from .mnist_data import load_mnist
    from .translation_metrics import translation_judges
    x = load_mnist("embedded", device=device or "cpu")
    y = load_small_digits(device=device or "cpu", held_out=settings["small_held_out"])
    judges = translation_judges(x, y, epochs_x=settings["classifier_epochs"],
                                epochs_y=settings["small_classifier_epochs"], progress=progress)
    return x, y, judges


def _train_cyclegan(name: str, settings: dict, gan: _CycleGAN, device, checkpoint: Path,
                    progress: bool) -> tuple:
    """CycleGAN between the embedded MNIST digits (X) and the 8×8 digits (Y)."""
    from .cycle_gan import LEAST_SQUARES, train_cycle_gan
    from .gan_losses import WASSERSTEIN
    from .lipschitz import GradientPenalty
    from .translation_metrics import translation_evaluation
    x, y, judges = cyclegan_domains(settings, device, progress)
    loss = {"least-squares": LEAST_SQUARES, "wasserstein": WASSERSTEIN}[settings["loss"]]
    constraint = None if settings["penalty"] is None else GradientPenalty(settings["penalty"])
    history = train_cycle_gan(
        gan.generator["g"], gan.generator["f"], gan.critic["x"], gan.critic["y"],
        x.train_images, y.train_images, loss=loss, constraint=constraint,
        cycle_weight=settings["cycle_weight"], identity_weight=settings["identity_weight"],
        iterations=settings["iterations"], batch_size=settings["batch"], pool_size=settings["pool"],
        lr=settings["lr"], seed=settings["seed"], evaluate=translation_evaluation(x, y, judges),
        evaluate_every=settings["evaluate_every"], checkpoint=checkpoint, progress=progress, desc=name)
    history["critic_steps"] = history["iteration"]   # one update of both critics per iteration
    extra = {"floor": {"x": dict(judges.x.floor), "y": dict(judges.y.floor)},
             "judge accuracy": {"x": judges.x.accuracy, "y": judges.y.accuracy},
             "training digits": {"x": len(x.train_images), "y": len(y.train_images)}}
    return gan.generator, gan.critic, history, extra


def stacked_data(settings: dict, device=None, progress: bool = True):
    """Stacked MNIST as a run of ``settings`` sees it, and its metrics: ``(data, metrics)``."""
    from .stacked_mnist import StackedMetrics, load_stacked_mnist
    data = load_stacked_mnist(settings["train_images"], settings["samples"], seed=settings["seed"],
                              device=device or "cpu")
    metrics = StackedMetrics(data, classifier_epochs=settings["classifier_epochs"],
                             samples=settings["samples"], progress=progress)
    return data, metrics


def _train_stacked(name: str, settings: dict, gan, device, checkpoint: Path, progress: bool) -> tuple:
    """A DCGAN-style variant on Stacked MNIST, with the modes it covers along the run."""
    from .training import train_gan
    data, metrics = stacked_data(settings, device, progress)
    history = train_gan(gan.generator, gan.critic, data.train_images, loss=gan.loss, constraint=gan.constraint,
                        iterations=settings["iterations"], latent_dim=gan.latent_dim, batch_size=64,
                        n_critic=gan.n_critic, generator_optimizer=gan.generator_optimizer,
                        critic_optimizer=gan.critic_optimizer, seed=settings["seed"],
                        evaluate=metrics.evaluation(gan.latent_dim), evaluate_every=settings["evaluate_every"],
                        checkpoint=checkpoint, checkpoint_every=settings["evaluate_every"], progress=progress,
                        desc=name)
    extra = {"ceiling": metrics.ceiling, "classifier accuracy": metrics.accuracy,
             "training images": len(data.train_images)}
    return gan.generator, gan.critic, history, extra


def _compact(history: dict, *, per_iteration: bool = True) -> dict:
    """The history with its lists as tensors, and samples stacked.

    The series with a value per iteration (losses, critic steps, times: tens of
    thousands of numbers) are stored as float32 and int32, seven significant digits,
    more than any chapter prints; the evaluations (``history["metrics"]``, a few
    dozen values each) as float64 and int64. The critic's values on a grid (the toy
    runs' ``"surface"``), which the chapters only draw, are stored as float16.
    """
    floats, ints = (torch.float32, torch.int32) if per_iteration else (torch.float64, torch.int64)
    out = {}
    for key, values in history.items():
        if isinstance(values, dict):
            out[key] = _compact(values, per_iteration=False)
        elif isinstance(values, list) and values and isinstance(values[0], torch.Tensor):
            out[key] = torch.stack(values).half() if key == "surface" else torch.stack(values)
        elif isinstance(values, list):
            exact = all(isinstance(v, int) for v in values)
            out[key] = torch.tensor(values, dtype=ints if exact else floats)
        else:
            out[key] = values
    return out


def _expand(history: dict) -> dict:
    """Inverse of :func:`_compact`: lists of numbers, lists of tensors (samples)."""
    out = {}
    for key, values in history.items():
        if isinstance(values, dict):
            out[key] = _expand(values)
        elif isinstance(values, torch.Tensor) and values.ndim <= 1:
            out[key] = values.tolist()
        elif isinstance(values, torch.Tensor):
            out[key] = list((values.float() if values.dtype == torch.float16 else values).unbind())
        else:
            out[key] = values
    return out


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        return next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                    if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def module_digests_for(kind: str) -> dict:
    """The code of a run of ``kind``: the digest of every course_utils module its module imports."""
    modules = set()
    for module in _KIND_MODULES[kind]:
        modules.update(package_imports(module))
    return module_digests(sorted(modules))


def _code_version(settings: dict) -> dict:
    """The commit checked out, the run's modules that differ from it, and their digests.

    The digests decide staleness; the commit (with any module edited since) says
    where to find the code.
    """
    modules = module_digests_for(settings["kind"])
    root = Path(__file__).resolve().parents[2]
    files = [str(Path("src", *name.split("."))) for name in modules]
    files = [f + ("/__init__.py" if (root / f).is_dir() else ".py") for f in files]
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", *files],
                                capture_output=True, text=True, check=True).stdout
        edited = sorted(line[3:] for line in status.splitlines())
    except (OSError, subprocess.CalledProcessError):
        commit, edited = None, None
    return {"commit": commit, "edited since the commit": edited, "modules": modules}


def _final_metrics(history: dict) -> dict:
    return {key: values[-1] for key, values in history["metrics"].items()
            if values and isinstance(values[-1], (int, float))}


def stale_reasons(name: str, folder: Path | None = None) -> list[str]:
    """Why the committed run ``name`` may not be what today's code and settings produce.

    Empty when it is current: its files exist, the weights file is the one the
    manifest names, the settings are today's, and every module its code imports
    has the digest it had when it was trained.
    """
    settings = _settings(name)
    folder = reference_dir() if folder is None else Path(folder)
    manifest_path, weights = folder / f"{name}.json", folder / f"{name}.pt"
    if not manifest_path.is_file() or not weights.is_file():
        return [f"{name} has not been trained (no {manifest_path.name} and {weights.name})"]
    manifest = json.loads(manifest_path.read_text(encoding="utf8"))
    reasons = []
    if manifest.get("format") != FORMAT:
        reasons.append(f"manifest format {manifest.get('format')}, expected {FORMAT}")
    if manifest.get("settings") != settings:
        reasons.append("its settings differ from REFERENCE_RUNS")
    if manifest.get("file", {}).get("sha256") != _sha256(weights):
        reasons.append(f"{weights.name} is not the file the manifest describes")
    recorded = manifest.get("code", {}).get("modules", {})
    today = module_digests_for(settings["kind"])
    for module in sorted(set(recorded) | set(today)):
        if recorded.get(module) != today.get(module):
            reasons.append(f"{module} changed since it was trained")
    return reasons


def train_reference_run(name: str, *, device=None, folder: Path | None = None,
                        force: bool = False, progress: bool = True) -> dict:
    """Train run ``name`` (resuming its work checkpoint) and write its two files; return the manifest.

    A run that is current (see :func:`stale_reasons`) is left alone unless
    ``force``.
    """
    from .profiles import get_device
    settings = _settings(name)
    folder = reference_dir() if folder is None else Path(folder)
    if not force and not stale_reasons(name, folder):
        return json.loads((folder / f"{name}.json").read_text(encoding="utf8"))
    device = get_device(device)
    work = folder / ".work" / f"{name}.pt"
    work.parent.mkdir(parents=True, exist_ok=True)
    if force and work.is_file():
        work.unlink()
    code = _code_version(settings)
    wall = time.perf_counter()
    generator, critic, history, extra = _train(name, settings, device, work, progress)
    wall = time.perf_counter() - wall
    weights = folder / f"{name}.pt"
    torch.save({"format": FORMAT, "name": name, "settings": settings,
                "generator": ({} if generator is None else
                              {k: v.detach().cpu() for k, v in generator.state_dict().items()}),
                "critic": ({} if critic is None else
                           {k: v.detach().cpu() for k, v in critic.state_dict().items()}),
                "history": _compact(history)}, weights)
    manifest = {
        "format": FORMAT, "name": name,
        "command": f"python -m course_utils.reference_runs {shlex.quote(name)}",
        "settings": settings, "code": code,
        "device": str(device), "device name": _device_name(device),
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "iterations": history["iteration"][-1], "critic steps": history["critic_steps"][-1],
        "training seconds": round(history["time"][-1], 1),
        "wall seconds of the last session": round(wall, 1),
        "seed": settings["seed"], "final": _final_metrics(history), **extra,
        "file": {"name": weights.name, "bytes": weights.stat().st_size, "sha256": _sha256(weights)},
        "finished": datetime.date.today().isoformat(),
    }
    (folder / f"{name}.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
                                         encoding="utf8")
    return manifest


def load_reference_run(name: str, device=None, folder: Path | None = None) -> LoadedRun:
    """The trained models (in eval mode), history and manifest of run ``name``.

    Raises ``FileNotFoundError`` with the command that makes a missing run, and
    ``ValueError`` for a weights file that is not the one its manifest
    describes (corrupt or replaced). Loads with ``weights_only=True``.
    """
    from .profiles import get_device
    settings = _settings(name)
    folder = reference_dir() if folder is None else Path(folder)
    manifest_path, weights = folder / f"{name}.json", folder / f"{name}.pt"
    if not manifest_path.is_file() or not weights.is_file():
        raise FileNotFoundError(f"reference run {name!r} not found in {folder}: make it with "
                                f"python -m course_utils.reference_runs {name}")
    manifest = json.loads(manifest_path.read_text(encoding="utf8"))
    digest = _sha256(weights)
    if manifest.get("file", {}).get("sha256") != digest:
        raise ValueError(f"{weights.name} is not the file its manifest describes (corrupt or "
                         f"replaced): retrain it with python -m course_utils.reference_runs {name} --force")
    state = torch.load(weights, map_location="cpu", weights_only=True)
    device = get_device(device)
    gan = _build(settings, device)
    if gan.generator is not None:
        gan.generator.load_state_dict(state["generator"])
        gan.generator.eval()
    if gan.critic is not None:
        gan.critic.load_state_dict(state["critic"])
        gan.critic.eval()
    LOADED[name] = digest
    return LoadedRun(gan.generator, gan.critic, _expand(state["history"]), manifest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.reference_runs",
        description="Train the reference runs the book shows, resumably, and write their weights "
                    "and manifests. Without names: every run that is not current.")
    parser.add_argument("names", nargs="*", help=f"runs to train (default: all): {', '.join(REFERENCE_RUNS)}")
    parser.add_argument("--list", action="store_true", help="say which runs are current, stale or missing")
    parser.add_argument("--force", action="store_true", help="retrain even runs that are current")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: CUDA if available)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    parser.add_argument("--folder", default=None, help=f"where the runs live (default: {REFERENCE_DIR_ENV} "
                                                        "or reference_runs/)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in REFERENCE_RUNS]
    if unknown:
        parser.exit(2, f"error: unknown reference run(s) {', '.join(unknown)}; choose among "
                       f"{', '.join(REFERENCE_RUNS)}\n")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    folder = Path(args.folder) if args.folder else reference_dir()
    names = args.names or list(REFERENCE_RUNS)
    for name in names:
        reasons = stale_reasons(name, folder)
        if args.list:
            work = folder / ".work" / f"{name}.pt"
            state = "current" if not reasons else "; ".join(reasons)
            if reasons and work.is_file():
                from .training import load_checkpoint
                state += f" (work checkpoint at iteration {load_checkpoint(work)['iteration']})"
            print(f"{name:28s} {state}")
            continue
        if not reasons and not args.force:
            print(f"{name}: current, skipped", flush=True)
            continue
        try:
            manifest = train_reference_run(name, device=args.device, folder=folder, force=args.force)
        except (ValueError, RuntimeError, FileNotFoundError) as err:
            parser.exit(2, f"error: {name}: {err}\n")
        final = ", ".join(f"{k} {v:.3g}" for k, v in manifest["final"].items() if k != "iteration")
        print(f"{name}: {manifest['iterations']} iterations, {manifest['training seconds']:.0f} s of "
              f"training on {manifest['device']} ({manifest['threads']} threads); {final}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
