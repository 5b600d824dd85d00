"""DCGAN, WGAN, WGAN-GP and SN-WGAN on MNIST: the variants, and a command that trains them ahead of class.

    python -m course_utils.image_gans --algo wgan-gp --data mnist --profile gpu --out checkpoints/

Each variant is the DCGAN-style pair of :mod:`course_utils.conv_models` trained by
the one loop, :func:`course_utils.training.train_gan`, with its authors' loss,
constraint and optimiser (:func:`course_utils.training.paper_optimizers`, learning
rates × the profile's ``mnist_lr_scale``; the sources are in that module's table):

=========  ==============  =====================  ===============================  ========
variant    loss            constraint             optimiser                        n_critic
=========  ==============  =====================  ===============================  ========
dcgan      NON_SATURATING  none (batch norm)      Adam 2e-4, β = (0.5, 0.999)      1
wgan       WASSERSTEIN     WeightClipping(0.01)   RMSProp 5e-5, warm-up (code)     5
wgan-gp    WASSERSTEIN     GradientPenalty(10)    Adam 1e-4, β = (0.5, 0.9) (code) 5
sn-wgan    WASSERSTEIN     SpectralNormalization  Adam 1e-4, β = (0.5, 0.9)        5
=========  ==============  =====================  ===============================  ========

The critics are :func:`course_utils.conv_models.dcgan_critic` with LeakyReLU, except
SN-WGAN's, with MaxMin (:class:`course_utils.lipschitz.MaxMin`).

A run writes ``mnist-<algo>-<profile>.pt`` into its checkpoint folder every
``checkpoint_every`` iterations; running again resumes it, and a finished run is
loaded instead of retrained. The chapter "Training on images" looks for these
files in ``$COURSE_CHECKPOINTS``. The history in the checkpoint carries the
metrics of :class:`course_utils.image_metrics.DigitMetrics` and sample grids from
fixed codes, so a loaded run has its curves and its slider too.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from .conv_models import dcgan_critic, dcgan_generator
from .gan_losses import GANLoss, NON_SATURATING, WASSERSTEIN
from .image_metrics import DigitMetrics, classifier_accuracy, train_classifier
from .lipschitz import GradientPenalty, LipschitzConstraint, SpectralNormalization, WeightClipping
from .mnist_data import MNISTSplit, check_images, load_mnist
from .profiles import Profile, get_device, get_profile
from .training import load_checkpoint, paper_optimizers, train_gan

__all__ = ["ALGORITHMS", "CHECKPOINTS_ENV", "ImageGAN", "TrainedGAN", "build_variant", "checkpoint_path",
           "digit_metrics", "main", "train_variant"]

ALGORITHMS = ("dcgan", "wgan", "wgan-gp", "sn-wgan")
CHECKPOINTS_ENV = "COURSE_CHECKPOINTS"


@dataclasses.dataclass
class ImageGAN:
    """Everything ``train_gan`` needs for one variant, besides the data."""

    algo: str
    generator: nn.Module
    critic: nn.Module
    loss: GANLoss
    constraint: LipschitzConstraint | None
    n_critic: int
    generator_optimizer: torch.optim.Optimizer
    critic_optimizer: torch.optim.Optimizer
    latent_dim: int


class TrainedGAN(NamedTuple):
    generator: nn.Module
    critic: nn.Module
    history: dict
    loaded: bool
    """True when a finished checkpoint was loaded instead of training."""


def build_variant(algo: str, profile: Profile, device: str | torch.device = "cpu", *, seed: int = 0,
                  critic_norm: str | None = "default", clip: float = 0.01) -> ImageGAN:
    """The models, loss, constraint and optimisers of ``algo`` (see the module's table) at ``profile``'s size.

    ``critic_norm`` replaces the variant's critic normalisation (the chapter uses it
    to put batch norm into a penalty critic); ``clip`` is WGAN's c. The models'
    initial weights come from ``seed``.
    """
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r}: choose one of {ALGORITHMS}")
    torch.manual_seed(seed)
    width, latent_dim, scale = profile.mnist_width, profile.mnist_latent_dim, profile.mnist_lr_scale
    norm = {"dcgan": "batch", "wgan": None, "wgan-gp": None, "sn-wgan": "spectral"}[algo]
    # channels_last: the layout that oneDNN's (CPU) and cuDNN's convolution kernels run fastest in
    # (measured on 2 CPU cores: WGAN-GP iterations about 15 % faster; benchmarks/bench_mnist_loop.py).
    generator = dcgan_generator(latent_dim, width).to(device, memory_format=torch.channels_last)
    # SN-WGAN's critic: MaxMin activations, which keep the gradient's norm between its
    # norm-1 layers (with LeakyReLU its slope stays far below 1 and it plateaus).
    activation = "maxmin" if algo == "sn-wgan" else "leaky_relu"
    critic = dcgan_critic(width, norm if critic_norm == "default" else critic_norm, activation).to(
        device, memory_format=torch.channels_last)
    loss, constraint, n_critic = {
        "dcgan": (NON_SATURATING, None, 1), "wgan": (WASSERSTEIN, WeightClipping(clip), 5),
        "wgan-gp": (WASSERSTEIN, GradientPenalty(10.0), 5), "sn-wgan": (WASSERSTEIN, SpectralNormalization(), 5),
    }[algo]
    generator_optimizer, critic_optimizer = paper_optimizers(loss, constraint, generator, critic, lr_scale=scale)
    return ImageGAN(algo, generator, critic, loss, constraint, n_critic, generator_optimizer, critic_optimizer,
                    latent_dim)


def digit_metrics(data: MNISTSplit, profile: Profile, *, progress: bool = True) -> DigitMetrics:
    """The classifier (trained once, then cached) and the metrics against half of the held-out digits.

    The classifier learns from the training digits; the metrics compare with the
    held-out ones, which neither the classifier nor the GANs have seen. The other
    half of the held-out digits is the real-vs-real floor: ``metrics.floor``. The
    classifier's accuracy on all held-out digits is ``metrics.accuracy``.
    """
    classifier = train_classifier(data.train_images, data.train_labels, epochs=profile.classifier_epochs,
                                  progress=progress)
    metrics = DigitMetrics(classifier, data.test_images[0::2])
    metrics.accuracy = classifier_accuracy(classifier, data.test_images, data.test_labels)
    metrics.floor = metrics.metrics(data.test_images[1::2])
    return metrics


def checkpoint_path(folder: str | os.PathLike, algo: str, profile: Profile, tag: str = "") -> Path:
    """``folder/mnist-<algo>[-<tag>]-<profile>.pt``: where a run of this variant and profile is kept."""
    return Path(folder) / f"mnist-{algo}{'-' + tag if tag else ''}-{profile.name}.pt"


def train_variant(gan: ImageGAN, images: torch.Tensor, metrics: DigitMetrics, *, profile: Profile,
                  checkpoint: str | os.PathLike, iterations: int | None = None, seed: int = 0,
                  progress: bool = True) -> TrainedGAN:
    """Train ``gan`` on ``images`` (n, 1, 28, 28) in [−1, 1], or load/resume it from ``checkpoint``.

    Batch 64 as in both papers; the metrics and a grid of samples every
    ``profile.mnist_metric_every`` iterations.
    """
    check_images(images, "the training images")
    iterations = profile.mnist_iterations if iterations is None else iterations
    checkpoint = Path(checkpoint)
    loaded = checkpoint.is_file() and load_checkpoint(checkpoint)["iteration"] >= iterations
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    history = train_gan(gan.generator, gan.critic, images, loss=gan.loss, constraint=gan.constraint,
                        iterations=iterations, latent_dim=gan.latent_dim, batch_size=64, n_critic=gan.n_critic,
                        generator_optimizer=gan.generator_optimizer, critic_optimizer=gan.critic_optimizer,
                        seed=seed, evaluate=metrics.evaluation(gan.latent_dim),
                        evaluate_every=profile.mnist_metric_every, checkpoint=checkpoint,
                        checkpoint_every=profile.mnist_metric_every, progress=progress,
                        desc=f"{gan.algo} ({profile.name})")
    return TrainedGAN(gan.generator, gan.critic, history, loaded)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.image_gans",
        description="Train a GAN variant on MNIST and checkpoint it, for the chapter 'Training on images' "
                    f"(point {CHECKPOINTS_ENV} at --out). Interrupted runs resume from their last checkpoint.")
    parser.add_argument("--algo", required=True, choices=[*ALGORITHMS, "all"])
    parser.add_argument("--data", default="mnist", choices=["mnist"], help="the dataset (only MNIST for now)")
    parser.add_argument("--profile", default=None, help="ci, cpu or gpu (default: $COURSE_PROFILE, else by device)")
    parser.add_argument("--out", required=True, help="folder for the checkpoints")
    parser.add_argument("--source", choices=["embedded", "full"], default=None,
                        help="MNIST source (default: the profile's; full = torchvision's 70,000)")
    parser.add_argument("--data-root", default=None, help="folder holding MNIST/raw for --source full")
    parser.add_argument("--download", action="store_true", help="download full MNIST if it is missing")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: $COURSE_DEVICE, else CUDA if any)")
    parser.add_argument("--iterations", type=int, default=None, help="override the profile's iterations")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        profile, device = get_profile(args.profile), get_device(args.device)
        data = load_mnist(args.source or profile.mnist_source, device=device, root=args.data_root,
                          download=args.download)
    except (ValueError, RuntimeError, FileNotFoundError) as err:
        parser.exit(2, f"error: {err}\n")
    print(f"profile {profile.name}, device {device}, MNIST {data.source}: {len(data.train_images)} training digits",
          flush=True)
    metrics = digit_metrics(data, profile)
    print(f"digit classifier: held-out accuracy {metrics.accuracy:.4f}", flush=True)
    for algo in ALGORITHMS if args.algo == "all" else (args.algo,):
        gan = build_variant(algo, profile, device, seed=args.seed)
        path = checkpoint_path(args.out, algo, profile)
        run = train_variant(gan, data.train_images, metrics, profile=profile, checkpoint=path,
                            iterations=args.iterations, seed=args.seed)
        final = {name: values[-1] for name, values in run.history["metrics"].items() if name != "samples"}
        print(f"{algo}: {'already complete' if run.loaded else 'trained'}, {final['iteration']} iterations in "
              f"{run.history['time'][-1]:.0f} s on {run.history['device']}; Fréchet {final['frechet']:.1f}, "
              f"precision {final['precision']:.2f}, recall {final['recall']:.2f}, "
              f"{final['covered']:.0f} classes, confidence {final['confidence']:.2f} -> {path.name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
