"""Train a critic against two fixed distributions: the dual side of W1, on its own.

With the generator frozen, the critic's half of a WGAN is the Kantorovich–Rubinstein
problem  max over 1-Lipschitz f of  E_real f(x) − E_fake f(y),  whose value is
W1(real, fake). :func:`fit_critic` runs the critic's half of the training loop on
that objective, with one of the Lipschitz constraints of :mod:`course_utils.lipschitz`:

    for step in 1 … steps:
        x ← batch of real samples,  y ← batch of fake samples
        loss ← mean f(y) − mean f(x)  [+ λ · penalty(x, y)]      (−loss estimates W1)
        one optimiser step on loss;  [clip every weight to [−c, c]]

This is Algorithm 1 of the WGAN paper (Arjovsky et al., 2017) and of WGAN-GP
(Gulrajani et al., 2017) without the generator's update; each step is
:func:`course_utils.training.critic_step`, the step of the full loop.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from tqdm.auto import tqdm

from .gan_losses import WASSERSTEIN
from .lipschitz import LipschitzConstraint
from .training import Sampler, TrainingLog, critic_step, draw_batch, paper_optimizers

__all__ = ["critic_estimate", "figure_one_critic", "fit_critic"]


@torch.no_grad()
def critic_estimate(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> float:
    """mean f(real) − mean f(fake): the critic's estimate of W1 (exact for the optimal 1-Lipschitz f)."""
    return (critic(real).mean() - critic(fake).mean()).item()


def fit_critic(critic: nn.Module, real: Sampler, fake: Sampler, *, steps: int,
               constraint: LipschitzConstraint | None = None, batch_size: int = 256,
               optimizer: torch.optim.Optimizer | None = None, rng: torch.Generator | None = None,
               progress: bool = True, desc: str = "critic", track: Callable[[nn.Module], float] | None = None,
               track_every: int = 25) -> dict[str, list[float]]:
    """Maximise E_real f − E_fake f over the critic's parameters under ``constraint``; return the history.

    ``real`` and ``fake`` are tensors of samples (batches drawn by index) or
    functions ``n ↦ tensor of n samples``; ``constraint`` is ``None``,
    ``WeightClipping(c)``, ``GradientPenalty(λ)`` or ``SpectralNormalization()``.
    Without an ``optimizer``, the papers' (:func:`course_utils.training.paper_optimizers`).

    The history has, per step, ``"estimate"`` (mean f(x) − mean f(y) on the batch,
    before the step) and ``"penalty"`` (0 without one). With ``track``, a function
    of the critic (e.g. its estimate on the full sample sets), also
    ``"tracked_step"`` and ``"tracked"``: the step count and ``track(critic)`` every
    ``track_every`` steps and at the end. A non-finite estimate or penalty stops
    training with a ``FloatingPointError`` naming the step.
    """
    for label, value, minimum in (("steps", steps, 0), ("batch_size", batch_size, 1), ("track_every", track_every, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{label} must be a {'non-negative' if minimum == 0 else 'positive'} integer, "
                             f"got {value!r}")
    constraint = LipschitzConstraint() if constraint is None else constraint
    if not isinstance(constraint, LipschitzConstraint):
        raise TypeError(f"constraint must be None, WeightClipping, GradientPenalty or SpectralNormalization, "
                        f"got {constraint!r}")
    constraint.check(critic)
    for name, source in (("real", real), ("fake", fake)):
        if isinstance(source, torch.Tensor) and (source.ndim < 2 or len(source) == 0):
            raise ValueError(f"{name} must be a non-empty batch of shape (n, d), got {tuple(source.shape)}")
    if optimizer is None:   # the critic's half of the authors' pair (the other, unused, is the generator's)
        optimizer = paper_optimizers(WASSERSTEIN, constraint, critic, critic)[1]
    history: dict[str, list[float]] = {"estimate": [], "penalty": []}
    if track is not None:
        history["tracked_step"], history["tracked"] = [], []
    log = TrainingLog(history)
    critic.train()
    bar = tqdm(range(steps), desc=desc, disable=not progress, leave=False, mininterval=0.5)
    for step in bar:
        x, y = draw_batch(real, batch_size, rng), draw_batch(fake, batch_size, rng)
        if x.shape[1:] != y.shape[1:]:
            raise ValueError(f"real and fake samples differ in shape: {tuple(x.shape[1:])} vs {tuple(y.shape[1:])}")
        result = critic_step(critic, optimizer, WASSERSTEIN, constraint, x, y, rng)
        log.record(step + 1, estimate=result.estimate, penalty=result.penalty)
        done = step + 1
        track_now = track is not None and (done % track_every == 0 or done == steps)
        if done % 100 == 0 or track_now or done == steps:
            bar.set_postfix(W1_estimate=f"{log.flush()['estimate']:.4f}", refresh=False)
        if track_now:
            critic.eval()
            history["tracked_step"].append(done)
            history["tracked"].append(float(track(critic)))
            critic.train()
    del history["iteration"]
    critic.eval()
    return history


def figure_one_critic(dataset: str, method: str, *, width: int = 256, steps: int = 3000,
                      batch_size: int = 256, lr: float = 1e-3, samples: int = 1000, seed: int = 0,
                      device: str | torch.device = "cpu", progress: bool = True) -> tuple[nn.Module, dict]:
    """A critic of Gulrajani et al.'s Figure 1(a), and how much of W1 it certifies.

    A 3 × ``width`` ReLU critic (initial weights from ``seed``) trained for
    ``steps`` Adam steps (``lr``, β = (0.5, 0.9)) against the fixed generator of
    the figure, data + N(0, I) noise drawn afresh at every step, with
    ``method`` ``"clipping"`` (c = 0.01) or ``"penalty"`` (λ = 10). Returns the
    critic (eval mode) and the history of :func:`fit_critic`, with
    ``"metrics"``: on ``samples`` fresh points of each side, the estimate, the
    steepest real–fake slope K_eff, the exact W1 (POT) and estimate / K_eff / W1.
    """
    from .lipschitz import GradientPenalty, WeightClipping, estimate_lipschitz
    from .models import critic_mlp
    from .optimal_transport import wasserstein
    from .toy_data import sample_toy

    if method not in ("clipping", "penalty"):
        raise ValueError(f"method must be 'clipping' or 'penalty', got {method!r}")
    torch.manual_seed(seed)
    critic = critic_mlp(width=width).to(device)
    stream = torch.Generator(device=device).manual_seed(1)

    def data(n):
        return sample_toy(dataset, n, stream, device)

    def noisy(n):
        return sample_toy(dataset, n, stream, device) + torch.randn(n, 2, generator=stream, device=device)

    constraint = WeightClipping(0.01) if method == "clipping" else GradientPenalty(10.0)
    optimizer = torch.optim.Adam(critic.parameters(), lr=lr, betas=(0.5, 0.9))
    history = fit_critic(critic, data, noisy, steps=steps, batch_size=batch_size, constraint=constraint,
                         optimizer=optimizer, rng=stream, progress=progress, desc=f"{dataset}, {method}")
    real, fake = data(samples), noisy(samples)
    estimate = critic_estimate(critic, real, fake)
    slope = estimate_lipschitz(critic, real, fake)
    exact = wasserstein(real.cpu().numpy(), fake.cpu().numpy())
    history["metrics"] = {"iteration": [steps], "estimate": [estimate], "K_eff": [slope],
                          "exact W1": [exact], "share of W1": [estimate / slope / exact]}
    return critic, history
