"""Stacked MNIST: colour images with 1,000 known modes, and how many of them a generator covers.

Metz et al. (ICLR 2017, "Unrolled GANs") stack three MNIST digits as the red, green
and blue channels of one 28×28 image. The digits are drawn independently, so the
images fall into 10³ = 1,000 equally likely modes, the triples of classes
(r, g, b), numbered m = 100 r + 10 g + b. VEEGAN (Srivastava et al., NeurIPS 2017)
and PacGAN (Lin et al., NeurIPS 2018) measure mode collapse with it:

* a digit classifier reads each channel of N generated images, which gives each
  image its mode;
* **modes covered**: how many of the 1,000 modes receive at least one image;
* **KL to uniform**: KL(q ‖ u) = Σ_m q_m log(1000 q_m), where q is the histogram of
  the modes read and u the uniform distribution; 0 for perfect balance, and
  log 1000 ≈ 6.91 for a generator stuck on one mode.

The classifier is the course's own (:class:`~course_utils.image_metrics.DigitClassifier`,
trained on the real training digits), so it misreads a few per cent of real digits;
the real held-out images' own numbers, read the same way and from as many images,
are the ceiling a generator can reach (:meth:`StackedMetrics.ceiling`). With
N images and a balanced histogram, KL is not 0 but about 999 / (2N) (the bias
of a plug-in estimate), about 0.05 for N = 10,000.

Everything is built from the embedded MNIST digits (:func:`~course_utils.mnist_data.load_mnist`),
with no network: the training images stack training digits, the held-out images
stack held-out digits (:func:`load_stacked_mnist`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from .image_metrics import DigitMetrics, classifier_accuracy, frechet_distance, precision_recall, train_classifier
from .mnist_data import MNISTSplit, check_images, load_mnist

__all__ = ["MODES", "StackedMNIST", "StackedMetrics", "check_colour_images", "load_stacked_mnist",
           "mode_coverage", "read_modes", "stack_digits"]

MODES = 1000
COLOUR_SHAPE = (3, 28, 28)
_PLACES = torch.tensor([100, 10, 1])   # m = 100 r + 10 g + b (a sum, not a matmul: CUDA has no integer matmul)


class StackedMNIST(NamedTuple):
    """Stacked images (n, 3, 28, 28) in [−1, 1] and their modes (n,) in 0…999, both splits, and the digits."""

    train_images: torch.Tensor
    train_modes: torch.Tensor
    test_images: torch.Tensor
    test_modes: torch.Tensor
    digits: MNISTSplit
    """The MNIST digits they were stacked from."""


def check_colour_images(images, label: str = "images") -> torch.Tensor:
    """Return ``images`` if they are a finite float tensor (n, 3, 28, 28) within [−1, 1]; else raise ValueError.

    Unlike :func:`~course_utils.mnist_data.check_images` (for training data), no background
    of −1 is required: an untrained generator's images are scored too.
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{label} must be a torch tensor, got {type(images).__name__}")
    if images.ndim != 4 or tuple(images.shape[1:]) != COLOUR_SHAPE or len(images) == 0:
        raise ValueError(f"{label} must have shape (n, 3, 28, 28), got {tuple(images.shape)}")
    if not images.is_floating_point() or not torch.isfinite(images).all():
        raise ValueError(f"{label} must be finite floating-point values, got dtype {images.dtype}")
    low, high = images.min().item(), images.max().item()
    if low < -1 - 1e-4 or high > 1 + 1e-4:
        raise ValueError(f"{label} must lie in [−1, 1], but their values span [{low:.3g}, {high:.3g}]")
    return images


def stack_digits(images: torch.Tensor, labels: torch.Tensor, n: int, *, seed: int = 0) -> tuple:
    """``n`` images whose R, G and B channels are three digits drawn independently (with replacement).

    Returns ``(stacked, modes)``: (n, 3, 28, 28) and (n,) with mode 100 r + 10 g + b.
    """
    check_images(images, "the digits to stack")
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if labels.shape != (len(images),):
        raise ValueError(f"labels must have shape ({len(images)},), got {tuple(labels.shape)}")
    rng = torch.Generator().manual_seed(seed)
    index = torch.randint(len(images), (n, 3), generator=rng).to(images.device)
    stacked = images[index, 0]                                   # (n, 3, 28, 28)
    channel_labels = labels[index]                               # (n, 3)
    modes = (channel_labels * _PLACES.to(labels.device, labels.dtype)).sum(1)
    return stacked, modes


def load_stacked_mnist(n_train: int = 24_000, n_test: int = 10_000, *, seed: int = 0,
                       device: str | torch.device = "cpu") -> StackedMNIST:
    """Stacked MNIST from the embedded digits: ``n_train`` images of training digits, ``n_test`` of held-out ones.

    The 4,000 training digits give 4,000³ possible images; ``n_train`` = 24,000 puts
    about 24 in each mode. The held-out images never share a digit with the training ones.
    """
    digits = load_mnist("embedded", device=device, seed=seed)
    train, train_modes = stack_digits(digits.train_images, digits.train_labels, n_train, seed=seed)
    test, test_modes = stack_digits(digits.test_images, digits.test_labels, n_test, seed=seed + 1)
    return StackedMNIST(train, train_modes, test, test_modes, digits)


@torch.no_grad()
def read_modes(classifier: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The mode the digit ``classifier`` reads in each image: 100 r + 10 g + b from its three channels."""
    check_colour_images(images, "the images to read")
    classifier.eval()
    channels = images.reshape(-1, 1, 28, 28)                     # r, g, b of image 0, then of image 1, …
    classes = torch.cat([classifier(chunk.contiguous(memory_format=torch.channels_last)).argmax(1)
                         for chunk in channels.split(3 * batch_size)])
    return (classes.view(-1, 3) * _PLACES.to(classes.device)).sum(1)


def mode_coverage(modes: torch.Tensor) -> dict:
    """Modes covered (at least one image) and KL(q ‖ uniform) = log 1000 − H(q) of the histogram q of ``modes``."""
    if modes.ndim != 1 or len(modes) == 0 or modes.dtype.is_floating_point:
        raise ValueError(f"modes must be a non-empty (n,) integer tensor, got shape {tuple(modes.shape)} "
                         f"and dtype {modes.dtype}")
    if modes.min() < 0 or modes.max() >= MODES:
        raise ValueError(f"modes must lie in 0…{MODES - 1}, got values in [{modes.min()}, {modes.max()}]")
    counts = torch.bincount(modes.cpu(), minlength=MODES).double()
    q = counts[counts > 0] / len(modes)
    return {"modes": int((counts > 0).sum()), "kl": math.log(MODES) + (q * q.log()).sum().item()}


class StackedMetrics:
    """Modes, KL to uniform and per-channel digit metrics of colour images, against Stacked MNIST.

    ``metrics(images)`` returns ``modes`` and ``kl`` (:func:`mode_coverage` of
    :func:`read_modes`, on all the images) and, per channel, the Fréchet distance,
    precision and recall of :class:`~course_utils.image_metrics.DigitMetrics`
    (on the first ``per_channel`` images of each channel against held-out digits),
    averaged over the three channels as ``frechet``, ``precision``, ``recall``.
    ``ceiling`` holds the real held-out images' own values: the best a generator can
    score with this classifier and as many images. ``evaluation(latent_dim)`` is
    the function for ``train_gan(evaluate=...)``.
    """

    NAMES = ("modes", "kl", "frechet", "precision", "recall")

    def __init__(self, data: StackedMNIST, *, classifier_epochs: int = 10, samples: int = 10_000,
                 per_channel: int = 500, progress: bool = True):
        if samples > len(data.test_images):
            raise ValueError(f"samples ({samples}) cannot exceed the {len(data.test_images)} held-out images "
                             "that give the ceiling")
        digits = data.digits
        self.classifier = train_classifier(digits.train_images, digits.train_labels,
                                           epochs=classifier_epochs, progress=progress)
        # channels_last: the layout oneDNN's convolutions run fastest in (reading 30,000 digits on
        # one CPU thread: 9 s instead of 21 s); the values are the same up to rounding.
        self.classifier.to(memory_format=torch.channels_last)
        self.accuracy = classifier_accuracy(self.classifier, digits.test_images, digits.test_labels)
        self.samples, self.per_channel = samples, per_channel
        self.digit_metrics = DigitMetrics(self.classifier, digits.test_images[0::2])
        # The ceiling: the modes of real held-out images, and the digit metrics of the held-out
        # digits that are not the reference (every channel of a real image is such a digit).
        floor = self.digit_metrics.metrics(digits.test_images[1::2][:per_channel])
        self.ceiling = {**mode_coverage(read_modes(self.classifier, data.test_images[:samples])),
                        **{name: floor[name] for name in ("frechet", "precision", "recall")}}

    def metrics(self, images: torch.Tensor) -> dict:
        """The metrics of ``images`` (n, 3, 28, 28); ``channels`` holds the per-channel values."""
        out = mode_coverage(read_modes(self.classifier, images))
        real = self.digit_metrics.real_features
        out["channels"] = {"frechet": [], "precision": [], "recall": []}
        for c in range(3):
            features = self.digit_metrics.features(images[:self.per_channel, c:c + 1])
            precision, recall = precision_recall(real, features, self.digit_metrics.k)
            out["channels"]["frechet"].append(frechet_distance(real, features))
            out["channels"]["precision"].append(precision)
            out["channels"]["recall"].append(recall)
        out.update({name: sum(values) / 3 for name, values in out["channels"].items()})
        return out

    def evaluation(self, latent_dim: int, seed: int = 1234, grid: int = 36):
        """``(generator, critic) ↦ metrics`` of ``self.samples`` images from fixed codes, and the first
        ``grid`` of them as uint8 ``"samples"`` (grid, 3, 28, 28), the frames of a slider over training."""
        codes = torch.randn(self.samples, latent_dim, generator=torch.Generator().manual_seed(seed))
        codes = codes.to(self.digit_metrics.real_features.device)

        @torch.no_grad()
        def evaluate(generator: nn.Module, critic: nn.Module) -> dict:
            images = torch.cat([generator(chunk) for chunk in codes.split(1000)])
            values = self.metrics(images)
            channels = values.pop("channels")
            values.update({f"{name}_{c}": channels[name][i] for name in channels for i, c in enumerate("rgb")})
            values["samples"] = ((images[:grid] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
            return values

        return evaluate
