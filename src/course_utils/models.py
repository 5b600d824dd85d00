"""Multilayer perceptrons for critics and generators on low-dimensional data.

``mlp(in_features, out_features, width, depth, norm)`` is a stack of ``depth``
hidden layers ``Linear → [norm] → ReLU`` followed by a linear output layer, as in
Gulrajani et al.'s toy code (3 hidden layers of 512 units). A critic has no
output activation: it is a real-valued function, not a probability (no sigmoid).

``norm`` chooses what sits between each hidden linear map and its ReLU:

* ``None``: nothing (the default, and what weight clipping and the gradient
  penalty use);
* ``"layer"``: ``nn.LayerNorm``, a per-sample normalisation that keeps the
  gradient penalty's per-sample gradients meaningful;
* ``"batch"``: ``nn.BatchNorm1d``, here only to show why it breaks the penalty
  (it couples the samples of a batch);
* ``"spectral"``: no extra layer, but every linear map is wrapped in torch's
  spectral-norm parametrisation (Miyato et al., 2018), which divides it by a
  power-iteration estimate of its largest singular value: its norm is then close
  to 1, and slightly above (:func:`course_utils.lipschitz.spectral_normalize`).
"""

from __future__ import annotations

from torch import nn

from .lipschitz import MaxMin, spectral_normalize

__all__ = ["critic_mlp", "generator_mlp", "mlp"]

NORMS = (None, "layer", "batch", "spectral")


ACTIVATIONS = {"relu": nn.ReLU, "maxmin": MaxMin}


def mlp(in_features: int, out_features: int, width: int = 512, depth: int = 3,
        norm: str | None = None, activation: str = "relu") -> nn.Sequential:
    """``depth`` hidden layers Linear → [norm] → activation of ``width`` units, then a Linear output.

    ``activation`` is ``"relu"`` or ``"maxmin"`` (:class:`course_utils.lipschitz.MaxMin`,
    gradient-norm preserving: the choice for a spectrally normalised critic).
    """
    for label, value in (("in_features", in_features), ("out_features", out_features), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{label} must be a positive integer, got {value!r}")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"depth must be a non-negative integer, got {depth!r}")
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}: choose one of {NORMS}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}: choose one of {tuple(ACTIVATIONS)}")
    layers: list[nn.Module] = []
    size = in_features
    for _ in range(depth):
        layers.append(nn.Linear(size, width))
        if norm == "layer":
            layers.append(nn.LayerNorm(width))
        elif norm == "batch":
            layers.append(nn.BatchNorm1d(width))
        layers.append(ACTIVATIONS[activation]())
        size = width
    layers.append(nn.Linear(size, out_features))
    model = nn.Sequential(*layers)
    return spectral_normalize(model) if norm == "spectral" else model


def critic_mlp(in_features: int = 2, width: int = 512, depth: int = 3, norm: str | None = None,
               activation: str = "relu") -> nn.Sequential:
    """A critic f: R^d → R (no output activation). See :func:`mlp`."""
    return mlp(in_features, 1, width, depth, norm, activation)


def generator_mlp(latent_dim: int = 2, out_features: int = 2, width: int = 512, depth: int = 3,
                  norm: str | None = None) -> nn.Sequential:
    """A generator g: R^latent_dim → R^out_features (linear output). See :func:`mlp`."""
    return mlp(latent_dim, out_features, width, depth, norm)
