"""Sample-quality metrics for generated digits, in the feature space of our own classifier.

The usual FID (Heusel et al., NeurIPS 2017) compares Inception-v3 features of real
and generated images. No pretrained Inception can be downloaded here, and its
ImageNet features are a poor fit for 28×28 digits anyway, so the course trains a
small CNN on the real digits (:class:`DigitClassifier`) and measures everything in
its 128-dimensional penultimate layer:

* :func:`frechet_distance`: the Fréchet (W2) distance between Gaussians fitted to
  the real and generated features, ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^{1/2}).
  It is FID's formula in another feature space, so its values are comparable
  between runs of this course, never with FIDs in papers;
* :func:`precision_recall`: improved precision and recall (Kynkäänniemi et al.,
  NeurIPS 2019, k = 3): the share of generated samples inside the real samples'
  k-NN manifold, and the share of real samples inside the generated one;
* :func:`class_coverage`: the classifier's predicted classes against the uniform
  distribution of MNIST, and its mean confidence (max softmax probability).

:class:`DigitMetrics` holds the classifier and the real reference features, and
gives both the metrics of a batch of images and an evaluation for ``train_gan``.
"""

from __future__ import annotations

import hashlib
import math
import os
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .mnist_data import check_images

__all__ = ["CACHE_ENV", "DigitClassifier", "DigitMetrics", "class_coverage", "classifier_accuracy",
           "frechet_distance", "precision_recall", "train_classifier"]

CACHE_ENV = "COURSE_CACHE"
FEATURES = 128


class DigitClassifier(nn.Module):
    """A small CNN for 28×28 digits; ``features`` is its 128-d penultimate layer (our 'Inception pool3')."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),     # 32×14×14
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),    # 64×7×7
            nn.Flatten(), nn.Linear(64 * 7 * 7, FEATURES), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(FEATURES, 10))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(images))


def _cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "wgan-course")


def _fingerprint(images: torch.Tensor, labels: torch.Tensor, epochs: int, seed: int) -> str:
    digest = hashlib.sha256()
    digest.update(images.detach().cpu().numpy().tobytes())
    digest.update(labels.detach().cpu().numpy().tobytes())
    digest.update(f"{epochs}-{seed}-{FEATURES}-v3".encode())
    return digest.hexdigest()[:16]


def train_classifier(images: torch.Tensor, labels: torch.Tensor, *, epochs: int = 10, batch_size: int = 128,
                     seed: int = 0, cache: bool = True, progress: bool = True) -> DigitClassifier:
    """Train :class:`DigitClassifier` (Adam 1e-3, cross-entropy, random ±2-pixel shifts) on the real digits.

    With ``cache``, the trained weights are kept in ``$COURSE_CACHE`` (default
    ``~/.cache/wgan-course``) under a name derived from the data and settings, and
    loaded (``weights_only=True``) instead of retrained next time. Returns the
    classifier in eval mode on the images' device.
    """
    check_images(images, "the classifier's training images")
    if labels.shape != (len(images),) or labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"labels must be (n,) integers in 0…9, got shape {tuple(labels.shape)}")
    path = _cache_dir() / f"digit_classifier-{_fingerprint(images, labels, epochs, seed)}.pt"
    with torch.random.fork_rng(devices=[images.device] if images.device.type == "cuda" else []):
        torch.manual_seed(seed)   # initial weights and dropout; the caller's random state is left as it was
        model = DigitClassifier().to(images.device)
        if cache and path.is_file():
            try:
                model.load_state_dict(torch.load(path, map_location=images.device, weights_only=True))
                return model.eval()
            except Exception as err:   # a cache is derived data: say so, and rebuild it
                warnings.warn(f"the cached classifier {path.name} could not be read ({err}); retraining it")
        _fit(model, images, labels, epochs, batch_size, seed, progress)
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".tmp{os.getpid()}")
        torch.save(model.state_dict(), temporary)
        os.replace(temporary, path)
    return model


def _fit(model, images, labels, epochs, batch_size, seed, progress):
    rng = torch.Generator(device=images.device).manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    steps = epochs * math.ceil(len(images) / batch_size)
    # The shifts are drawn on the host, all at once: torch.roll takes Python integers, and
    # reading them from the device would synchronise every step.
    shifts = torch.randint(-2, 3, (steps, 2), generator=torch.Generator().manual_seed(seed)).tolist()
    for step in tqdm(range(steps), desc="digit classifier", disable=not progress, mininterval=0.5):
        index = torch.randint(len(images), (batch_size,), device=images.device, generator=rng)
        batch = torch.roll(images[index], shifts=shifts[step], dims=(2, 3))
        loss = F.cross_entropy(model(batch), labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    model.eval()


@torch.no_grad()
def classifier_accuracy(classifier: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of ``images`` whose predicted class is their label."""
    classifier.eval()
    return (classifier(images).argmax(1) == labels).float().mean().item()


def frechet_distance(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature sets ``a`` (n, d) and ``b`` (m, d).

    d² = ‖μ_a − μ_b‖² + Tr Σ_a + Tr Σ_b − 2 Tr (Σ_a^{1/2} Σ_b Σ_a^{1/2})^{1/2}, the squared
    W2 distance between N(μ_a, Σ_a) and N(μ_b, Σ_b) (Dowson & Landau 1982), as in
    FID (Heusel et al. 2017). Computed in float64 with symmetric eigendecompositions.
    """
    a, b = (np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float64) for x in (a, b))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"need two feature sets (n ≥ 2, d) of the same d, got {a.shape} and {b.shape}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False).reshape(a.shape[1], -1), np.cov(b, rowvar=False).reshape(b.shape[1], -1)
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_root = np.sqrt(np.clip(middle, 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


def _kth_neighbour_radius(x: torch.Tensor, k: int) -> torch.Tensor:
    distances = torch.cdist(x, x)
    return distances.kthvalue(k + 1, dim=1).values   # the 0th neighbour is the point itself


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of feature sets ``real`` and ``fake``.

    The manifold of a set is the union of balls around its points, each with the
    radius of the distance to its k-th nearest neighbour in the set.
    precision = share of fake points in the real manifold (quality);
    recall = share of real points in the fake manifold (coverage of the data).
    """
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"need two feature sets (n, d) of the same d, got {tuple(real.shape)}, {tuple(fake.shape)}")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k < min(len(real), len(fake)):
        raise ValueError(f"k must be an integer in [1, {min(len(real), len(fake)) - 1}], got {k!r}")
    real, fake = real.float(), fake.float()
    real_radius, fake_radius = _kth_neighbour_radius(real, k), _kth_neighbour_radius(fake, k)
    between = torch.cdist(fake, real)                                  # (n_fake, n_real)
    precision = (between <= real_radius[None, :]).any(dim=1).float().mean().item()
    recall = (between.T <= fake_radius[None, :]).any(dim=1).float().mean().item()
    return precision, recall


def class_coverage(probabilities: torch.Tensor) -> dict:
    """The classifier's verdict on a batch: class shares, classes covered, KL to uniform, mean confidence.

    ``covered`` counts the classes predicted for at least half their fair share
    (5 % of the samples); ``kl_uniform`` = KL(shares ‖ uniform) = log 10 − H(shares),
    0 for a perfectly balanced batch and log 10 ≈ 2.303 for a single class;
    ``confidence`` is the mean of the largest softmax probability.
    """
    if probabilities.ndim != 2 or probabilities.shape[1] != 10:
        raise ValueError(f"need class probabilities (n, 10), got {tuple(probabilities.shape)}")
    shares = torch.bincount(probabilities.argmax(1), minlength=10).double() / len(probabilities)
    entropy = -(shares[shares > 0] * shares[shares > 0].log()).sum().item()
    return {"shares": shares.tolist(), "covered": int((shares >= 0.05).sum()),
            "kl_uniform": math.log(10) - entropy, "confidence": probabilities.max(1).values.mean().item()}


class DigitMetrics:
    """Metrics of generated digits against a fixed set of real ones, in the classifier's feature space.

    ``metrics(images)`` returns the Fréchet distance, precision, recall, classes
    covered, KL to uniform and mean confidence. ``evaluation(latent_dim)`` gives
    the same as a function for ``train_gan(evaluate=...)``, on ``n`` samples from
    fixed latent codes, plus ``"samples"``: the first 64 of them as a uint8
    tensor, the frames of a slider over training.
    """

    NAMES = ("frechet", "precision", "recall", "covered", "kl_uniform", "confidence")
    accuracy: float | None = None
    """The classifier's accuracy on held-out digits, when whoever built this measured it."""
    floor: dict | None = None
    """The metrics of real held-out digits against the reference: what a perfect generator would get."""

    def __init__(self, classifier: DigitClassifier, real_images: torch.Tensor, k: int = 3, batch_size: int = 1000):
        self.classifier, self.k, self.batch_size = classifier.eval(), k, batch_size
        self.real_features = self.features(check_images(real_images, "the real reference images"))

    @torch.no_grad()
    def _outputs(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = torch.cat([self.classifier.features(chunk) for chunk in images.split(self.batch_size)])
        return features, torch.softmax(self.classifier.head(features), dim=1)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self._outputs(images)[0]

    def metrics(self, images: torch.Tensor) -> dict:
        check_images(images, "the images to score")
        features, probabilities = self._outputs(images)
        precision, recall = precision_recall(self.real_features, features, self.k)
        coverage = class_coverage(probabilities)
        return {"frechet": frechet_distance(self.real_features, features), "precision": precision,
                "recall": recall, "covered": coverage["covered"], "kl_uniform": coverage["kl_uniform"],
                "confidence": coverage["confidence"]}

    def evaluation(self, latent_dim: int, n: int | None = None, seed: int = 1234):
        """``(generator, critic) ↦ {name: value}`` for ``train_gan(evaluate=...)``: the metrics of
        ``generator``'s images from ``n`` fixed codes (default: as many as real references), and the
        first 64 images as uint8 ``"samples"``."""
        n = len(self.real_features) if n is None else n
        codes = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed)).to(self.real_features.device)

        def evaluate(generator: nn.Module, critic: nn.Module) -> dict:
            images = torch.cat([generator(chunk) for chunk in codes.split(self.batch_size)])
            samples = ((images[:64, 0] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
            return {**self.metrics(images), "samples": samples}

        return evaluate
