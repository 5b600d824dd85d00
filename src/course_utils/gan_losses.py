"""The loss pairs of the GAN variants: what the critic minimises, what the generator minimises.

Every variant of the course trains with the same loop
(:func:`course_utils.training.train_gan`); what differs is the pair of losses,
written here in terms of the critic's raw outputs on real samples ``f(x)`` and on
generated ones ``f(G(z))``, and the Lipschitz constraint
(:mod:`course_utils.lipschitz`).

=====================  =====================================  ===================================
loss                   critic minimises                       generator minimises
=====================  =====================================  ===================================
``MINIMAX``            −E log D(x) − E log(1 − D(G(z)))       E log(1 − D(G(z)))   (saturates)
``NON_SATURATING``     same as above                          −E log D(G(z))       (the "−log D trick")
``WASSERSTEIN``        E f(G(z)) − E f(x)                     −E f(G(z))
=====================  =====================================  ===================================

For the two GAN losses the critic is a discriminator whose output is a logit,
D = sigmoid(f); log D = −softplus(−f) and log(1 − D) = −softplus(f) are computed
in that stable form. Goodfellow et al. (2014) define the minimax game and propose
the non-saturating generator loss; Arjovsky, Chintala & Bottou (2017) the
Wasserstein one, whose critic loss is minus the estimate E f(x) − E f(G(z)) of W1.
Against the optimal discriminator the minimax generator loss has the gradient of
2 JS(P_r, P_g), the non-saturating one that of KL(P_g ‖ P_r) − 2 JS (Arjovsky &
Bottou, ICLR 2017, Theorem 2.5): the latter is not a Jensen–Shannon loss.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F

__all__ = ["GANLoss", "MINIMAX", "NON_SATURATING", "WASSERSTEIN", "LOSSES"]


class GANLoss(NamedTuple):
    """A named pair of losses, both functions of the critic's raw outputs."""

    name: str
    critic: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    """(f(x) on real, f(G(z)) on fake) ↦ the critic's loss, a scalar."""
    generator: Callable[[torch.Tensor], torch.Tensor]
    """f(G(z)) ↦ the generator's loss, a scalar."""


def discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """−E log D(x) − E log(1 − D(G(z))) with D = sigmoid(f): binary cross-entropy, real = 1, fake = 0."""
    return F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()


def saturating_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """E log(1 − D(G(z))) = −E softplus(f(G(z))): the generator's side of the minimax game."""
    return -F.softplus(fake_scores).mean()


def non_saturating_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """−E log D(G(z)) = E softplus(−f(G(z))): same fixed point, strong gradients when D wins."""
    return F.softplus(-fake_scores).mean()


def wasserstein_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """E f(G(z)) − E f(x): minus the critic's estimate of W1 (WGAN, Algorithm 1)."""
    return fake_scores.mean() - real_scores.mean()


def wasserstein_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """−E f(G(z)): its gradient is −E ∇θ f(G_θ(z)) = ∇θ W1 for the optimal critic."""
    return -fake_scores.mean()


MINIMAX = GANLoss("minimax", discriminator_loss, saturating_generator_loss)
NON_SATURATING = GANLoss("non-saturating", discriminator_loss, non_saturating_generator_loss)
WASSERSTEIN = GANLoss("wasserstein", wasserstein_critic_loss, wasserstein_generator_loss)
LOSSES = {loss.name: loss for loss in (MINIMAX, NON_SATURATING, WASSERSTEIN)}
