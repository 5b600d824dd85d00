"""Grids of 28×28 digits for the image chapters' figures and sliders.

:func:`digit_grid` lays the first ``nrow²`` digits out as one grey image with
torchvision's ``make_grid`` (1-pixel gaps); :func:`show_digits` draws it on an axis,
black ink on white, in a thin frame. Both take the two forms the chapters hold
digits in: floats in [−1, 1] (a generator's output, the data) or uint8 in
[0, 255] (the sample grids the training history keeps).
"""

from __future__ import annotations

import numpy as np
import torch
from torchvision.utils import make_grid

__all__ = ["digit_grid", "show_digits"]


def digit_grid(images: torch.Tensor, nrow: int = 8) -> np.ndarray:
    """The first ``nrow²`` of ``images`` ((n, 28, 28) or (n, 1, 28, 28)) as one (H, W) image in [0, 1].

    A NumPy array, as matplotlib's ``imshow`` and ``set_data`` take it.
    """
    if images.ndim not in (3, 4) or images.shape[-2:] != (28, 28) or len(images) == 0:
        raise ValueError(f"expected a non-empty batch of 28×28 digits, got shape {tuple(images.shape)}")
    value_range = (-1.0, 1.0) if images.is_floating_point() else (0.0, 255.0)
    pixels = images[: nrow * nrow].detach().float().cpu().reshape(-1, 1, 28, 28)
    return make_grid(pixels, nrow=nrow, padding=1, normalize=True, value_range=value_range)[0].numpy()


def show_digits(ax, images: torch.Tensor, title: str | None = None, nrow: int = 8):
    """Draw :func:`digit_grid` on ``ax`` (ink dark, no ticks, a thin grey frame); return the image artist."""
    artist = ax.imshow(digit_grid(images, nrow), cmap="gray_r", vmin=0, vmax=1)
    ax.set(xticks=[], yticks=[])
    for spine in ax.spines.values():
        spine.set(color="0.7", linewidth=0.8)
    if title:
        ax.set_title(title)
    return artist
