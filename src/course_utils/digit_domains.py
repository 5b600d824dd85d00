"""A second digit domain for unpaired translation: scikit-learn's 8×8 digits, shown at 28×28.

scikit-learn ships the 1,797 test digits of the UCI "optdigits" set
(``sklearn.datasets.load_digits``, Alpaydin & Kaynak 1998): 32×32 bitmaps of
handwritten digits whose 4×4 blocks were counted, so each image is 8×8 with 17
grey levels (0…16). Next to MNIST's 28×28 anti-aliased strokes, centred by mass in
a 20×20 box, they are another resolution and another style: the pair of domains
the CycleGAN chapter translates between, offline.

So that both domains go through the same networks and the same digit classifier,
an 8×8 digit is *embedded* in MNIST's frame without losing anything: each pixel
becomes a 3×3 block, and the 24×24 result sits in a 2-pixel border of background
(:func:`embed_small_digits`). :func:`shrink_to_8x8` averages the blocks back, so
``shrink_to_8x8(embed_small_digits(d))`` is ``d`` exactly; on a translation it
measures how far the image is from the 8×8 domain's blocky style
(:func:`block_residual`).

:func:`load_small_digits` returns an :class:`~course_utils.mnist_data.MNISTSplit`
like :func:`~course_utils.mnist_data.load_mnist`: training and held-out digits, with
as many held-out digits of each class, scaled to [−1, 1].
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .mnist_data import MNISTSplit

__all__ = ["BLOCK", "LEVELS", "SMALL_SHAPE", "block_residual", "check_small_digits", "embed_small_digits",
           "load_small_digits", "shrink_to_8x8"]

SMALL_SHAPE = (8, 8)
LEVELS = 16
"""The largest pixel value of an 8×8 digit: 16 ink pixels of 16 in its 4×4 block."""
BLOCK, BORDER = 3, 2   # 8 · 3 + 2 · 2 = 28


def check_small_digits(pixels, label: str = "8×8 digits") -> np.ndarray:
    """Return ``pixels`` as float32 (n, 8, 8) if they are 8×8 digits with values in 0…16; else raise.

    Accepts (n, 8, 8) or scikit-learn's flattened (n, 64). The range check catches
    digits already scaled (to [0, 1] or [−1, 1]) or 8-bit images.
    """
    array = np.asarray(pixels)
    if array.ndim == 2 and array.shape[1] == 64:
        array = array.reshape(-1, *SMALL_SHAPE)
    if array.ndim != 3 or array.shape[1:] != SMALL_SHAPE or len(array) == 0:
        raise ValueError(f"{label} must have shape (n, 8, 8) or (n, 64), got {np.shape(pixels)}")
    if not np.issubdtype(array.dtype, np.number) or not np.isfinite(array).all():
        raise ValueError(f"{label} must be finite numbers")
    low, high = float(array.min()), float(array.max())
    if low < 0 or high > LEVELS:
        raise ValueError(f"{label} must have values in 0…{LEVELS} (counts of ink pixels), but they span "
                         f"[{low:.3g}, {high:.3g}]: pass the raw load_digits() images, not scaled ones")
    if high <= 1:
        raise ValueError(f"{label} have no value above 1: they look scaled to [0, 1]; pass the raw "
                         f"load_digits() images (values 0…{LEVELS})")
    return array.astype(np.float32)


def embed_small_digits(pixels, device: str | torch.device = "cpu") -> torch.Tensor:
    """8×8 digits (values 0…16) ↦ images (n, 1, 28, 28) in [−1, 1]: 3×3 blocks in a 2-pixel border."""
    small = torch.as_tensor(check_small_digits(pixels)) / (LEVELS / 2) - 1        # 0…16 ↦ [−1, 1]
    blocks = small.repeat_interleave(BLOCK, 1).repeat_interleave(BLOCK, 2)      # (n, 24, 24)
    return F.pad(blocks, (BORDER,) * 4, value=-1.0)[:, None].to(device)


def shrink_to_8x8(images: torch.Tensor) -> torch.Tensor:
    """Images (n, 1, 28, 28) ↦ (n, 1, 8, 8): the mean of each 3×3 block of the centre 24×24."""
    if images.ndim != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise ValueError(f"images must have shape (n, 1, 28, 28), got {tuple(images.shape)}")
    return F.avg_pool2d(images[..., BORDER:-BORDER, BORDER:-BORDER], BLOCK)


def block_residual(images: torch.Tensor) -> torch.Tensor:
    """Per image, the mean |x − x_8×8| over the 28×28 pixels, where x_8×8 is ``images`` with each
    3×3 block replaced by its mean and the border by background (−1): 0 for an embedded 8×8 digit."""
    blocky = F.pad(shrink_to_8x8(images).repeat_interleave(BLOCK, 2).repeat_interleave(BLOCK, 3),
                   (BORDER,) * 4, value=-1.0)
    return (images - blocky).abs().flatten(1).mean(1)


def load_small_digits(*, device: str | torch.device = "cpu", held_out: int = 600, seed: int = 0) -> MNISTSplit:
    """scikit-learn's 1,797 8×8 digits, embedded at 28×28 in [−1, 1] on ``device``.

    ``held_out`` digits (a multiple of 10, as many of each class, chosen by a seeded
    shuffle) are kept out of the training set, for the metrics and the classifier's
    test accuracy; both sets are shuffled, so that any prefix mixes the classes.
    """
    from sklearn.datasets import load_digits   # scikit-learn ships the file: no network

    digits = load_digits()
    labels = digits.target.astype(np.int64)
    per_class = np.bincount(labels, minlength=10)
    if isinstance(held_out, bool) or not isinstance(held_out, int) or held_out <= 0 or held_out % 10 \
            or held_out // 10 >= per_class.min():
        raise ValueError(f"held_out must be a positive multiple of 10 below {10 * per_class.min()} "
                         f"(the rarest class has {per_class.min()} digits), got {held_out!r}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    chosen = np.concatenate([order[labels[order] == c][: held_out // 10] for c in range(10)])
    held = np.isin(np.arange(len(labels)), chosen)
    train, test = rng.permutation(np.flatnonzero(~held)), rng.permutation(np.flatnonzero(held))
    images = embed_small_digits(digits.images, device)
    as_labels = lambda index: torch.as_tensor(labels[index], device=device)
    return MNISTSplit(images[train], as_labels(train), images[test], as_labels(test), "sklearn-8x8")
