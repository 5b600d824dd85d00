"""Entropic optimal transport: the Sinkhorn value, its bias, and the debiased divergence.

For discrete measures α = Σ aᵢ δ_{xᵢ}, β = Σ bⱼ δ_{yⱼ} and a cost matrix Cᵢⱼ = c(xᵢ, yⱼ),
the entropic problem (Cuturi, NeurIPS 2013; Peyré & Cuturi 2019, §4) is

    W_ε(α, β) = min_{P ∈ Π(a, b)} ⟨P, C⟩ + ε KL(P ‖ a bᵀ),   ε > 0.

Its solution is P = diag(a ⊙ u) K diag(b ⊙ v) with K = exp(−C/ε), and Sinkhorn's
algorithm finds the scalings u, v by alternate projections on the two marginal
constraints; in the log domain (potentials f = ε log u, g = ε log v) it never
forms K, whose entries are 0 in float32 once C/ε exceeds about 104. POT solves it:
:func:`sinkhorn` wraps ``ot.solve(C, a, b, reg=ε)``; the chapter "Entropic
optimal transport and OT-GAN" writes the iterations out and checks them against it.

For uniform weights on n points, W ≤ ⟨P_ε, C⟩ ≤ W_ε ≤ W + ε log n (the exact plan
of a permutation has KL = log n), so W_ε → W as ε → 0. But W_ε(α, α) > 0: the
*entropic bias*. The Sinkhorn divergence removes it (Genevay, Peyré & Cuturi,
AISTATS 2018; Feydy et al., AISTATS 2019):

    S_ε(α, β) = W_ε(α, β) − ½ W_ε(α, α) − ½ W_ε(β, β),   S_ε(α, α) = 0,

which is non-negative for costs such as ‖x − y‖ and ‖x − y‖² (Feydy et al., Thm 1).

Gradients: by the envelope theorem, ∇_C W_ε = P_ε, the optimal plan held fixed,
so W_ε is differentiated without backpropagating through the iterations
(``grad="envelope"``); ``grad="autodiff"`` unrolls them instead.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import ot
import torch

__all__ = ["EntropicResult", "check_epsilon", "entropic_wasserstein", "ground_cost", "sinkhorn",
           "sinkhorn_divergence"]

GRADIENTS = ("envelope", "autodiff", "detach")


class EntropicResult(NamedTuple):
    value: torch.Tensor
    """W_ε = ⟨P, C⟩ + ε KL(P ‖ a bᵀ), the entropic optimum."""
    linear: torch.Tensor
    """⟨P, C⟩, the transport cost of the entropic plan (OT-GAN's loss)."""
    plan: torch.Tensor
    """P, the entropic plan (n × m)."""


def check_epsilon(epsilon) -> float:
    """ε as a float, or a ``ValueError`` unless it is a finite number > 0."""
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not (
            0 < float(epsilon) < math.inf):
        raise ValueError(f"epsilon (the entropic regularisation ε = 1/λ) must be a positive "
                         f"finite number, got {epsilon!r}")
    return float(epsilon)


def _check_cost(cost: torch.Tensor) -> torch.Tensor:
    if not isinstance(cost, torch.Tensor):
        cost = torch.as_tensor(cost, dtype=torch.float64)
    if cost.ndim != 2 or 0 in cost.shape:
        raise ValueError(f"the cost must be a non-empty n × m matrix, got shape {tuple(cost.shape)}")
    if not torch.isfinite(cost).all():
        raise ValueError("the cost matrix contains NaN or infinite values")
    return cost


def ground_cost(x: torch.Tensor, y: torch.Tensor, metric: str = "euclidean") -> torch.Tensor:
    """Cᵢⱼ = ‖xᵢ − yⱼ‖ (``"euclidean"``) or ‖xᵢ − yⱼ‖² (``"sqeuclidean"``), by ``torch.cdist``.

    ``x`` (n, d) and ``y`` (m, d); 1-D tensors are points on the line.
    """
    x, y = (torch.as_tensor(t) for t in (x, y))
    x, y = (t.reshape(-1, 1) if t.ndim == 1 else t for t in (x, y))
    if x.ndim != 2 or y.ndim != 2 or len(x) == 0 or len(y) == 0:
        raise ValueError(f"x and y must be non-empty (n, d) point clouds, got shapes "
                         f"{tuple(x.shape)} and {tuple(y.shape)}")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same dimension, got {x.shape[1]} and {y.shape[1]}")
    if metric not in ("euclidean", "sqeuclidean"):
        raise ValueError(f"unknown metric {metric!r}: choose 'euclidean' or 'sqeuclidean'")
    # torch.cdist, not ot.dist: the latter takes sqrt(‖x‖² + ‖y‖² − 2⟨x, y⟩), whose gradient is
    # NaN where two points coincide (as in W_ε(α, α)) and which is not 0 between a point and a copy.
    distance = torch.cdist(x, y)
    return distance if metric == "euclidean" else distance.square()


def sinkhorn(cost: torch.Tensor, a: torch.Tensor | None = None, b: torch.Tensor | None = None, *,
             epsilon: float, max_iter: int = 10_000, tol: float = 1e-9,
             grad: str = "envelope") -> EntropicResult:
    """The entropic plan and values for ``cost`` (n × m), weights ``a``, ``b`` (uniform by default).

    Log-domain Sinkhorn, by POT (``ot.solve(cost, a, b, reg=ε, reg_type="KL")``),
    until the marginals are within ``tol`` or ``max_iter`` iterations. ``grad``:
    ``"envelope"`` (only ``value`` carries a gradient, P held fixed: ∇_C W_ε = P),
    ``"autodiff"`` (through every iteration) or ``"detach"`` (none).
    """
    epsilon = check_epsilon(epsilon)
    cost = _check_cost(cost)
    if grad not in GRADIENTS:
        raise ValueError(f"unknown grad {grad!r}: choose one of {GRADIENTS}")
    result = ot.solve(cost, a, b, reg=epsilon, reg_type="KL", max_iter=max_iter, tol=tol, grad=grad)
    return EntropicResult(result.value, result.value_linear, result.plan)


def entropic_wasserstein(x: torch.Tensor, y: torch.Tensor, epsilon: float, *,
                         metric: str = "euclidean", **options) -> torch.Tensor:
    """W_ε between the uniform measures on the points ``x`` (n, d) and ``y`` (m, d).

    The cost is :func:`ground_cost`'s ``metric``; ``options`` go to :func:`sinkhorn`.
    """
    return sinkhorn(ground_cost(x, y, metric), epsilon=epsilon, **options).value


def sinkhorn_divergence(x: torch.Tensor, y: torch.Tensor, epsilon: float, *,
                        metric: str = "euclidean", **options) -> torch.Tensor:
    """S_ε(α, β) = W_ε(α, β) − ½ W_ε(α, α) − ½ W_ε(β, β) for the uniform measures on ``x`` and ``y``.

    Zero when x and y are the same points (Genevay et al. 2018; Feydy et al. 2019).
    """
    def w(u, v):
        return entropic_wasserstein(u, v, epsilon, metric=metric, **options)

    return w(x, y) - 0.5 * w(x, x) - 0.5 * w(y, y)
