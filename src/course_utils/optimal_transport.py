"""Exact optimal transport between discrete measures, primal (POT) and dual (linear program).

For discrete measures a = Σ aᵢ δ_{xᵢ} and b = Σ bⱼ δ_{yⱼ}, the Kantorovich problem

    W_p(a, b)^p = min_{π ∈ Π(a, b)} Σᵢⱼ πᵢⱼ ‖xᵢ − yⱼ‖₂^p,
    Π(a, b) = {π ≥ 0 : π 1 = a, πᵀ 1 = b},

is a linear program; :func:`wasserstein` solves it with POT's network simplex
(``ot.emd``). For p = 1 its dual is the Kantorovich–Rubinstein problem

    W_1(a, b) = max_f Σᵢ aᵢ f(xᵢ) − Σⱼ bⱼ f(yⱼ)   s.t.  f(u) − f(v) ≤ ‖u − v‖₂

over the values of f on the points of both supports; :func:`w1_dual_lp` solves it
with ``scipy.optimize.linprog``. Villani, *Optimal Transport, Old and New* (2009),
ch. 5–6; Peyré & Cuturi, *Computational Optimal Transport* (2019), §2–3 and §6.
"""

from __future__ import annotations

import math

import numpy as np
import ot
from scipy import optimize, sparse

__all__ = ["w1_dual_lp", "wasserstein"]


def _weights(w, n: int, name: str) -> np.ndarray:
    if w is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(w, dtype=float)
    if w.shape != (n,):
        raise ValueError(f"{name} must have one weight per point ({n}), got shape {w.shape}")
    if (w < 0).any() or not np.isclose(w.sum(), 1.0, atol=1e-9):
        raise ValueError(f"{name} must be non-negative and sum to 1 (sum {w.sum():.6g})")
    return w


def _point_cloud(x, name: str):
    """A sample as an (n, d) array, NumPy or torch; a 1-D array is n points on the line."""
    if not type(x).__module__.startswith("torch"):
        x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (n,) or (n, d), got {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} has no points")
    if not bool((abs(x) < math.inf).all()):  # False for NaN as well as for ±inf
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def _point_clouds(x, y):
    x, y = _point_cloud(x, "x"), _point_cloud(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same dimension, got {x.shape[1]} and {y.shape[1]}")
    return x, y


def wasserstein(x, y, p: int = 1, a=None, b=None, return_plan: bool = False):
    """Exact W_p between Σ aᵢ δ_{xᵢ} and Σ bⱼ δ_{yⱼ} with the Euclidean ground distance.

    Solves min_π Σ πᵢⱼ ‖xᵢ − yⱼ‖^p by ``ot.emd`` and returns (that minimum)^(1/p).
    Weights default to uniform. With ``return_plan`` the optimal plan π (n × m) is
    returned too. NumPy arrays give floats; torch tensors give torch scalars that
    are differentiable with respect to the points.
    """
    if p not in (1, 2):
        raise ValueError(f"p must be 1 or 2, got {p!r}")
    x, y = _point_clouds(x, y)
    cost = ot.dist(x, y, metric="euclidean")
    if p == 2:
        cost = cost**2
    a = [] if a is None else _weights(a, x.shape[0], "a")
    b = [] if b is None else _weights(b, y.shape[0], "b")
    plan = ot.emd(a, b, cost)
    value = (plan * cost).sum() ** (1 / p)
    # A float for NumPy inputs; torch tensors stay torch (and differentiable).
    value = value if type(value).__module__.startswith("torch") else float(value)
    return (value, plan) if return_plan else value


def w1_dual_lp(x, y, a=None, b=None):
    """Solve the Kantorovich–Rubinstein dual of W1 as a linear program.

    Unknowns: the values f = (f(x₁) … f(xₙ), f(y₁) … f(yₘ)) of the critic on the
    union of the supports. Maximise Σ aᵢ f(xᵢ) − Σ bⱼ f(yⱼ) subject to
    f(u) − f(v) ≤ ‖u − v‖₂ for every ordered pair of support points, i.e. f is
    1-Lipschitz on the support. f is defined up to a constant; we fix f(x₁) = 0.

    Returns ``(value, f_x, f_y)``. By strong duality ``value`` equals the primal
    W1 (:func:`wasserstein`). Uses O((n + m)²) constraints: keep n + m to a few
    hundred.
    """
    x, y = _point_clouds(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    n, m = len(x), len(y)
    a, b = _weights(a, n, "a"), _weights(b, m, "b")
    points = np.concatenate([x, y])
    k = n + m
    dist = ot.dist(points, points, metric="euclidean")
    i, j = np.nonzero(~np.eye(k, dtype=bool))
    # One row per ordered pair (i, j), i ≠ j: f_i − f_j ≤ d_ij.
    rows = np.repeat(np.arange(len(i)), 2)
    values = np.tile([1.0, -1.0], len(i))
    constraints = sparse.csr_array((values, (rows, np.stack([i, j], axis=1).ravel())), shape=(len(i), k))
    objective = -np.concatenate([a, -b])          # linprog minimises
    bounds = [(0.0, 0.0)] + [(None, None)] * (k - 1)
    result = optimize.linprog(objective, A_ub=constraints, b_ub=dist[i, j], bounds=bounds, method="highs")
    if result.status != 0:
        raise RuntimeError(f"the dual linear program failed: {result.message}")
    f = result.x
    return float(-result.fun), f[:n], f[n:]
