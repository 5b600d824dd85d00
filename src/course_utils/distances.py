"""Four ways to compare two distributions: TV, KL, JS and the Wasserstein-1 distance.

Definitions, for distributions P and Q with densities p and q (any common
dominating measure; on probability vectors the integrals become sums):

* total variation  TV(P, Q) = sup_A |P(A) - Q(A)| = ½ ∫ |p - q|
* Kullback–Leibler KL(P‖Q) = ∫ p log(p / q), and +∞ when P is not absolutely
  continuous with respect to Q (some event has P(A) > 0 = Q(A))
* Jensen–Shannon   JS(P, Q) = ½ KL(P‖M) + ½ KL(Q‖M),  M = ½(P + Q),
  so that 0 ≤ JS ≤ log 2 (natural logarithms)
* Wasserstein-1    W1(P, Q) = inf over couplings γ of E_γ ‖X − Y‖ (Euclidean norm)

References: Arjovsky, Chintala & Bottou (2017), *Wasserstein GAN*, Section 2;
Villani (2009), *Optimal Transport: Old and New*; Peyré & Cuturi (2019),
*Computational Optimal Transport*.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, special

from .optimal_transport import _point_clouds, wasserstein

__all__ = [
    "tv_discrete",
    "kl_discrete",
    "js_discrete",
    "histogram_divergences",
    "w1_from_samples",
    "gaussian_closed_forms",
]


# --- checks shared by every function --------------------------------------------------

def _probability_vectors(p, q, atol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    if p.size == 0:
        raise ValueError("p and q are empty")
    for name, v in (("p", p), ("q", q)):
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} contains NaN or infinite values")
        if np.any(v < 0):
            raise ValueError(f"{name} has negative entries")
        if abs(v.sum() - 1.0) > atol * max(1, v.size):
            raise ValueError(f"{name} must sum to 1, sums to {v.sum():.6g}")
    return p, q


# --- on probability vectors -------------------------------------------------------------

def tv_discrete(p, q) -> float:
    """Total variation ½ Σ |p_i − q_i| between two probability vectors (in [0, 1])."""
    p, q = _probability_vectors(p, q)
    return float(min(1.0, 0.5 * np.abs(p - q).sum()))  # rounding can push the sum past 1


def kl_discrete(p, q) -> float:
    """Kullback–Leibler divergence Σ p_i log(p_i / q_i), in nats.

    Terms with p_i = 0 contribute 0; a term with p_i > 0 = q_i makes it +∞.
    """
    p, q = _probability_vectors(p, q)
    support = p > 0
    if np.any(q[support] == 0):
        return math.inf
    return float(max(0.0, np.sum(p[support] * (np.log(p[support]) - np.log(q[support])))))


def js_discrete(p, q) -> float:
    """Jensen–Shannon divergence ½ KL(p‖m) + ½ KL(q‖m), m = ½(p + q); in [0, log 2].

    With the ½ weights it equals log 2 exactly when p and q have disjoint
    supports. (Dropping the ½ — a common slip — would give 2 log 2.)
    """
    p, q = _probability_vectors(p, q)
    m = 0.5 * (p + q)
    return float(min(math.log(2.0), 0.5 * kl_discrete(p, m) + 0.5 * kl_discrete(q, m)))


# --- estimates from samples -------------------------------------------------------------

def _histogram_edges(low: float, high: float, width: float) -> np.ndarray:
    """Bin edges of the given width, with a bin centred on 0, covering [low, high]."""
    first = math.floor(low / width - 0.5)
    last = math.ceil(high / width - 0.5)
    return (np.arange(first, last + 1) + 0.5) * width


def histogram_divergences(x, y, bin_width: float, max_bins: int = 10_000_000) -> dict[str, float]:
    """Plug-in estimates of TV(P, Q), KL(P‖Q) and JS(P, Q) from samples x ~ P, y ~ Q.

    Both samples are binned on one grid of square cells of side ``bin_width``
    (a cell centred on the origin) and the discrete formulas are applied to the
    two histograms. The estimate resolves differences only down to the bin
    width: two samples closer than that look identical, two samples in disjoint
    bins look disjoint (TV = 1, KL = +∞, JS = log 2).
    """
    x, y = _point_clouds(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    if not (isinstance(bin_width, (int, float)) and math.isfinite(bin_width) and bin_width > 0):
        raise ValueError(f"bin_width must be a positive finite number, got {bin_width!r}")
    both = np.concatenate([x, y])
    edges = [_histogram_edges(lo, hi, bin_width) for lo, hi in zip(both.min(0), both.max(0))]
    n_bins = math.prod(len(e) - 1 for e in edges)
    if n_bins > max_bins:
        raise ValueError(f"{n_bins} bins needed at bin_width={bin_width}: use a larger bin width")
    hx, _ = np.histogramdd(x, bins=edges)
    hy, _ = np.histogramdd(y, bins=edges)
    p, q = hx.ravel() / len(x), hy.ravel() / len(y)
    return {"TV": tv_discrete(p, q), "KL": kl_discrete(p, q), "JS": js_discrete(p, q)}


def w1_from_samples(x, y, return_plan: bool = False):
    """Exact W1 between the empirical measures of x and y (uniform weights), with POT.

    W1 = min over plans π ∈ Π(a, b) of Σ_ij π_ij ‖x_i − y_j‖, solved as a linear
    program by ``ot.emd`` on the Euclidean cost matrix
    (:func:`course_utils.optimal_transport.wasserstein`). With ``return_plan`` the
    optimal plan π (shape n × m, rows summing to 1/n) is returned too.

    NumPy arrays give floats; torch tensors stay torch (and differentiable).
    """
    x, y = _point_clouds(x, y)
    return wasserstein(x, y, p=1, return_plan=return_plan)


# --- closed forms: N(0, σ²) against N(μ, σ²) ------------------------------------------------

def _js_unit_gaussians(d: float) -> float:
    """JS(N(0, 1), N(d, 1)) by adaptive quadrature, d ≥ 0.

    JS = ½ ∫ p log(2p / (p + q)) + q log(2q / (p + q)), written with
    log(2p / (p + q)) = log 2 − log(1 + q/p) and computed in log space so that
    the far tails (q/p huge or tiny) stay accurate.
    """
    if d == 0:
        return 0.0

    def integrand(t):
        lp = -0.5 * t * t - 0.5 * math.log(2 * math.pi)
        lq = -0.5 * (t - d) ** 2 - 0.5 * math.log(2 * math.pi)
        a = math.exp(lp) * (math.log(2) - np.logaddexp(0.0, lq - lp))
        b = math.exp(lq) * (math.log(2) - np.logaddexp(0.0, lp - lq))
        return 0.5 * (a + b)

    value, _ = integrate.quad(integrand, -12.0, d + 12.0, points=[0.0, d / 2, d], limit=200,
                              epsabs=1e-13, epsrel=1e-11)
    return float(min(max(value, 0.0), math.log(2)))


def gaussian_closed_forms(mu: float, sigma: float = 1.0) -> dict[str, float]:
    """W1, JS, KL and TV between P = N(0, σ²) and Q = N(μ, σ²).

    * W1 = |μ| (a translation; the lower bound |E X − E Y| ≤ E|X − Y| is attained)
    * KL(P‖Q) = KL(Q‖P) = μ² / (2σ²)
    * TV = 2Φ(|μ| / 2σ) − 1, Φ the standard normal CDF (the densities cross at μ/2)
    * JS depends on d = |μ|/σ only and has no elementary closed form: quadrature.
    """
    for name, v in (("mu", mu), ("sigma", sigma)):
        if not isinstance(v, (int, float, np.floating, np.integer)) or not math.isfinite(v):
            raise ValueError(f"{name} must be a finite number, got {v!r}")
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma!r}")
    d = abs(float(mu)) / float(sigma)
    return {
        "W1": abs(float(mu)),
        "JS": _js_unit_gaussians(d),
        "KL": 0.5 * d * d,
        "TV": float(2.0 * special.ndtr(d / 2.0) - 1.0),
    }
