"""Discriminator Optimal Transport: moving samples along a trained critic's transport map.

Tanaka, *Discriminator optimal transport*, NeurIPS 2019. Let D* be an optimal
1-Lipschitz critic of W1(p_data, p_G), high on the data, and T an optimal
transport map from p_G to p_data. For every y in the support of p_G,

    T(y) ∈ argmin_x { ‖x − y‖₂ − D*(x) }                        (Tanaka 2019, Thm. 1)

(a set: every point of the segment [y, T(y)] attains the minimum −D*(y)). A
trained critic D is only K-Lipschitz for some unknown K, so DOT divides it by an
estimate of K, the largest difference quotient over sample pairs,
K_eff = max |D(x) − D(x')| / ‖x − x'‖ (:func:`course_utils.lipschitz.estimate_lipschitz`),
and minimises, from x = y, by gradient steps,

    H_y(x) = ‖x − y + δ‖₂ − D(x) / K_eff                        (target space, Alg. 1)

with δ = 0.001 added to every coordinate so that the gradient of the norm is
defined at the start x = y. In latent space (Alg. 2) the same objective is
minimised in z for the critic D∘G, with k_eff the largest quotient
|D(G(z)) − D(G(z'))| / ‖z − z'‖:

    H_{z_y}(z) = ‖z − z_y + δ‖₂ − D(G(z)) / k_eff

keeping z where the prior puts its mass: for a uniform prior on [−1, 1]^d, z is
clipped to the box after each step; for a Gaussian prior, whose mass lies near
the sphere ‖z‖ = √d, the gradient's radial part is removed before each step,
g ← g − (g·z) z / ‖z‖², so that a small SGD step leaves ‖z‖ unchanged to first
order. (The authors' code subtracts (g·z) z / √d, which for ‖z‖ ≈ √d is √d times the
radial part, not the radial part; the chapter measures the difference.)

Defaults follow the authors' published code: δ = 0.001; latent space, plain SGD
with learning rate 0.01 and 10 steps (their example command); Adam, when asked
for, with β = (0, 0.9). In target space we default to Adam 0.01 for 100 steps,
the setting the chapter uses on 2-D data; every one of these is an argument.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from tqdm.auto import tqdm

from .lipschitz import estimate_lipschitz, largest_quotient

__all__ = ["PRIORS", "dot_objective", "latent_lipschitz", "latent_space_dot", "project_to_sphere_tangent",
           "sampled_k_eff", "target_space_dot"]

PRIORS = ("gaussian", "uniform")
OPTIMIZERS = ("sgd", "adam")


def dot_objective(x: torch.Tensor, y: torch.Tensor, scores: torch.Tensor, k_eff: float,
                  delta: float = 1e-3) -> torch.Tensor:
    """Per-sample H_y(x) = ‖x − y + δ‖₂ − D(x) / K_eff, given the critic's ``scores`` D(x), shape (n,)."""
    if scores.numel() != len(x):
        raise ValueError(f"the critic must give one score per sample: {len(x)} samples, scores of shape "
                         f"{tuple(scores.shape)}")
    return (x - y + delta).flatten(1).norm(dim=1) - scores.reshape(len(x)) / k_eff


def project_to_sphere_tangent(grad: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """g − (g·z) z / ‖z‖², per sample: the gradient without its component along z.

    A step along the result is tangent to the sphere through z, so ‖z‖ changes only
    at second order in the step size (for z ~ N(0, I_d), ‖z‖ ≈ √d).
    """
    radial = (grad * z).sum(dim=1, keepdim=True) / z.pow(2).sum(dim=1, keepdim=True).clamp_min(1e-12)
    return grad - radial * z


def latent_lipschitz(generator: nn.Module, critic: nn.Module, z: torch.Tensor,
                     max_pairs: int = 1_000_000) -> float:
    """k_eff = max over pairs of codes |D(G(z)) − D(G(z'))| / ‖z − z'‖₂ (Tanaka 2019, latent-space DOT).

    The K_eff of :func:`~course_utils.lipschitz.estimate_lipschitz` for the
    composed function D∘G, measured in latent space.
    """
    _check_models(generator, critic)
    z = _check_points(z, "z", ndim=2)
    with _eval_mode(generator, critic):
        return estimate_lipschitz(lambda codes: critic(generator(codes)), z, max_pairs=max_pairs)


@torch.no_grad()
def sampled_k_eff(f, x: torch.Tensor, pairs: int = 100, repeats: int = 10,
                  rng: torch.Generator | None = None) -> float:
    """The authors' K_eff: the largest quotient |f(a) − f(b)| / ‖a − b‖ over ``pairs`` random pairs of ``x``,
    averaged over ``repeats`` draws (Tanaka's code: 100 pairs of generated samples, 10 draws).

    A smaller lower bound on the Lipschitz constant than the maximum over all pairs
    (:func:`~course_utils.lipschitz.estimate_lipschitz`); the chapter measures what
    the difference does to DOT. For latent space, pass ``f = lambda z: D(G(z))``
    with both models in eval mode. f is evaluated once; the draws reuse its values.
    """
    x = _check_points(x, "x")
    if isinstance(pairs, bool) or not isinstance(pairs, int) or not 0 < pairs < len(x) ** 2:
        raise ValueError(f"pairs must be an integer in [1, {len(x) ** 2 - 1}], got {pairs!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats <= 0:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
    fx = f(x).reshape(len(x))
    return sum(largest_quotient(x, fx, x, fx, max_pairs=pairs, rng=rng) for _ in range(repeats)) / repeats


def target_space_dot(critic: nn.Module, y: torch.Tensor, k_eff: float, *, steps: int = 100, lr: float = 0.01,
                     optimizer: str = "adam", delta: float = 1e-3, batch_size: int = 1000,
                     anchor: torch.Tensor | None = None, progress: bool = False) -> torch.Tensor:
    """Target-space DOT (Tanaka 2019, Algorithm 1): each sample y moved to argmin_x ‖x − y + δ‖ − D(x)/K_eff.

    Starts from x = y and takes ``steps`` steps of ``optimizer`` (``"adam"``:
    β = (0, 0.9) as in the authors' code; ``"sgd"``) with learning rate ``lr`` on
    the summed objective; samples do not interact, so processing them in chunks of
    ``batch_size`` gives the same result as one batch. The critic is used in eval
    mode and its parameters are not changed. Returns the transported samples,
    detached, with the shape of ``y``.

    ``anchor`` is the y of the objective when it is not the starting point: pass
    the original samples to continue an earlier run from its result (with SGD,
    k steps and then m more give exactly k + m steps; Adam restarts its moments).
    """
    _check_models(critic)
    y = _check_points(y, "y")
    anchor = _check_anchor(anchor, y)
    _check_settings(k_eff, steps, lr, optimizer, delta, batch_size)
    chunks = list(zip(y.split(batch_size), anchor.split(batch_size)))
    bar = tqdm(total=len(chunks) * steps, desc="target-space DOT", disable=not progress, mininterval=0.5)
    with _eval_mode(critic):
        moved = [_descend(lambda x, anchor: dot_objective(x, anchor, critic(x), k_eff, delta), chunk, fixed, steps,
                          lr, optimizer, bar) for chunk, fixed in chunks]
    bar.close()
    return torch.cat(moved)


def latent_space_dot(generator: nn.Module, critic: nn.Module, z: torch.Tensor, k_eff: float, *,
                     prior: str = "gaussian", steps: int = 10, lr: float = 0.01, optimizer: str = "sgd",
                     delta: float = 1e-3, batch_size: int = 1000, anchor: torch.Tensor | None = None,
                     progress: bool = False) -> torch.Tensor:
    """Latent-space DOT (Tanaka 2019, Algorithm 2): each code z_y moved to argmin_z ‖z − z_y + δ‖ − D(G(z))/k_eff.

    ``prior`` says where the generator's codes live: ``"gaussian"`` (N(0, I); the
    gradient's radial part is removed before each step, see
    :func:`project_to_sphere_tangent`) or ``"uniform"`` (on [−1, 1]^d; z is clipped
    to the box after each step). ``z`` has shape (n, latent_dim). Returns the moved
    codes, detached: the improved samples are ``generator(result)``. ``anchor``
    continues an earlier run, as in :func:`target_space_dot`: pass the original codes
    z_y and start from the earlier result.
    """
    _check_models(generator, critic)
    z = _check_points(z, "z", ndim=2)
    anchor = _check_anchor(anchor, z)
    if prior not in PRIORS:
        raise ValueError(f"unknown prior {prior!r}: choose one of {PRIORS}")
    if prior == "uniform" and z.abs().max() > 1:
        raise ValueError("codes of a uniform prior must lie in [-1, 1]^d; some of z lie outside")
    _check_settings(k_eff, steps, lr, optimizer, delta, batch_size)
    chunks = list(zip(z.split(batch_size), anchor.split(batch_size)))
    bar = tqdm(total=len(chunks) * steps, desc="latent-space DOT", disable=not progress, mininterval=0.5)
    tangent = prior == "gaussian"
    with _eval_mode(generator, critic):
        moved = [_descend(lambda codes, anchor: dot_objective(codes, anchor, critic(generator(codes)), k_eff, delta),
                          chunk, fixed, steps, lr, optimizer, bar, project=tangent, box=None if tangent else 1.0)
                 for chunk, fixed in chunks]
    bar.close()
    return torch.cat(moved)


def _descend(objective, start, anchor, steps, lr, optimizer, bar, project=False, box=None):
    """Minimise ``objective(x, anchor).sum()`` over x from x = start: the DOT loop of both algorithms."""
    x = start.detach().clone().requires_grad_(True)
    make = {"sgd": lambda: torch.optim.SGD([x], lr=lr),
            "adam": lambda: torch.optim.Adam([x], lr=lr, betas=(0.0, 0.9))}[optimizer]
    opt = make()
    finite = torch.ones((), dtype=torch.bool, device=x.device)   # checked once, after the loop: no sync per step
    for _ in range(steps):
        with torch.enable_grad():
            values = objective(x, anchor)
            grad, = torch.autograd.grad(values.sum(), x)
        finite &= torch.isfinite(grad).all()
        x.grad = project_to_sphere_tangent(grad, x.detach()) if project else grad
        opt.step()
        if box is not None:
            with torch.no_grad():
                x.clamp_(-box, box)
        bar.update()
    if not finite:
        raise FloatingPointError(f"DOT: the objective's gradient was not finite in some of the {steps} steps "
                                 "(check the critic and K_eff)")
    return x.detach()


class _eval_mode:
    """Put modules in eval mode and freeze their parameters for the duration; restore both after."""

    def __init__(self, *modules):
        self.modules = modules

    def __enter__(self):
        self.saved = [(m.training, [p.requires_grad for p in m.parameters()]) for m in self.modules]
        for m in self.modules:
            m.eval().requires_grad_(False)

    def __exit__(self, *exc):
        for m, (training, flags) in zip(self.modules, self.saved):
            m.train(training)
            for p, flag in zip(m.parameters(), flags):
                p.requires_grad_(flag)


def _check_models(*modules):
    for m in modules:
        if not callable(m):
            raise TypeError(f"expected a model (a callable such as an nn.Module), got {type(m).__name__}")


def _check_points(x, name, ndim=None):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    if x.ndim < 2 or (ndim is not None and x.ndim != ndim) or len(x) == 0:
        want = f"(n, d) with {ndim} dimensions" if ndim else "a batch (n, ...) with at least 2 dimensions"
        raise ValueError(f"{name} must have shape {want} and n > 0, got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def _check_anchor(anchor, x):
    """The objective's anchor: ``x`` itself for a fresh run, else a tensor of x's shape, dtype and device."""
    if anchor is None:
        return x
    anchor = _check_points(anchor, "anchor")
    if anchor.shape != x.shape or anchor.dtype != x.dtype or anchor.device != x.device:
        raise ValueError(f"anchor must match the starting points: shape {tuple(x.shape)}, {x.dtype} on {x.device}; "
                         f"got shape {tuple(anchor.shape)}, {anchor.dtype} on {anchor.device}")
    return anchor


def _check_settings(k_eff, steps, lr, optimizer, delta, batch_size):
    number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if not number(k_eff) or k_eff <= 0:
        raise ValueError(f"K_eff must be a positive number (the critic's Lipschitz estimate), got {k_eff!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    if not number(lr) or lr <= 0:
        raise ValueError(f"the learning rate must be a positive number, got {lr!r}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}: choose one of {OPTIMIZERS}")
    if not number(delta) or delta < 0:
        raise ValueError(f"delta must be a non-negative number, got {delta!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
