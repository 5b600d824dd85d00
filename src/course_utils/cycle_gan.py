"""CycleGAN (Zhu, Park, Isola & Efros, ICCV 2017) for two domains of 28×28 digits.

Two translators, G: X → Y and F: Y → X, and two critics, D_Y (real y against G(x))
and D_X (real x against F(y)). The generators minimise

    L_adv(G, D_Y) + L_adv(F, D_X)                       make translations look like the target domain
    + λ (E‖F(G(x)) − x‖₁ + E‖G(F(y)) − y‖₁)             cycle consistency (λ = 10)
    + λ_id (E‖G(y) − y‖₁ + E‖F(x) − x‖₁)                identity: leave the target domain alone (λ_id = 0.5 λ)

and each critic its adversarial loss on real images against translated ones drawn
from an :class:`ImagePool` of the last 50 translations (Shrivastava et al., CVPR 2017).
The paper's adversarial loss is the least-squares one (LSGAN, Mao et al., ICCV 2017),
:data:`LEAST_SQUARES`; the course also tries the Wasserstein loss with a gradient
penalty (:data:`course_utils.gan_losses.WASSERSTEIN` with
:class:`course_utils.lipschitz.GradientPenalty`). The paper's optimiser is Adam,
lr 2e-4, β = (0.5, 0.999), constant for the first half of training and decayed
linearly to 0 over the second (:func:`linear_decay`).

The networks follow the paper's shapes at the scale of 28×28 digits:

    residual_generator   1×28×28 → conv 3×3 → w×28×28 → conv(stride 2) → 2w×14×14
                         → conv(stride 2) → 4w×7×7 → residual blocks at 4w×7×7
                         → conv-transpose → 2w×14×14 → conv-transpose → w×28×28 → conv 3×3 → tanh
                         (instance norm and ReLU after every convolution but the last)
    patch_critic         1×28×28 → conv(4, stride 2) → w×14×14 → conv(4, stride 2) → 2w×7×7
                         → conv 3×3 → 1×7×7: one score per 18×18 patch (LeakyReLU 0.2, no norm)

The paper's are larger (a 7×7 stem, 9 blocks, 70×70 patches on 256×256 images,
batch 1) and its critic has instance norm, which the gradient penalty's per-sample
gradients do not need; here the critic has none for either loss.

:func:`train_cycle_gan` is the loop, with checkpoints that resume exactly. The
chapter "Unpaired translation" writes the same step in its own cells and checks it
against this loop.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from .gan_losses import GANLoss, WASSERSTEIN
from .lipschitz import LipschitzConstraint, uses_batch_norm
from .training import TrainingLog, checkpoint_state, draw_batch, evaluate_models, restore_checkpoint, \
    save_checkpoint

__all__ = ["LEAST_SQUARES", "ImagePool", "ResidualBlock", "cycle_consistency_loss", "cycle_gan_optimizers",
           "identity_loss", "linear_decay", "patch_critic", "patch_mean", "residual_generator",
           "train_cycle_gan"]

HISTORY_KEYS = ("adversarial", "cycle", "identity", "critic_loss", "penalty")


# ---------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------

def least_squares_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """½ (E (D(y) − 1)² + E D(G(x))²): LSGAN's discriminator loss, halved as in the CycleGAN code."""
    return 0.5 * ((real_scores - 1).pow(2).mean() + fake_scores.pow(2).mean())


def least_squares_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """E (D(G(x)) − 1)²: LSGAN's generator loss (Mao et al. 2017, with a = 0, b = c = 1)."""
    return (fake_scores - 1).pow(2).mean()


LEAST_SQUARES = GANLoss("least-squares", least_squares_critic_loss, least_squares_generator_loss)
"""The paper's adversarial loss; the means run over every patch score of every image."""


def cycle_consistency_loss(x: torch.Tensor, x_reconstructed: torch.Tensor,
                           y: torch.Tensor, y_reconstructed: torch.Tensor) -> torch.Tensor:
    """E‖F(G(x)) − x‖₁ + E‖G(F(y)) − y‖₁, each the mean absolute error per pixel (as the paper's code)."""
    return (x_reconstructed - x).abs().mean() + (y_reconstructed - y).abs().mean()


def identity_loss(x: torch.Tensor, f_of_x: torch.Tensor, y: torch.Tensor, g_of_y: torch.Tensor) -> torch.Tensor:
    """E‖F(x) − x‖₁ + E‖G(y) − y‖₁: a translator fed its own target domain should change nothing."""
    return (f_of_x - x).abs().mean() + (g_of_y - y).abs().mean()


def patch_mean(critic: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """x ↦ the mean of ``critic(x)``'s patch scores per image, shape (n,).

    A patch critic's loss averages its patch scores, so its Wasserstein estimate is
    E f(y) − E f(G(x)) with f = this mean; the gradient penalty constrains that f.
    """
    return lambda images: critic(images).flatten(1).mean(1)


def linear_decay(iteration: int, iterations: int, decay_start: int) -> float:
    """The learning-rate factor at ``iteration`` (from 0): 1 before ``decay_start``, then linearly
    down to 1/(iterations − decay_start) at the last iteration (the paper: 100 epochs at 2e-4, then 100 to 0)."""
    if iteration < decay_start:
        return 1.0
    return (iterations - iteration) / (iterations - decay_start)


# ---------------------------------------------------------------------------------------------
# The networks and the pool
# ---------------------------------------------------------------------------------------------

def _check_size(value, label: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{label} must be a positive integer, got {value!r}")


class ResidualBlock(nn.Module):
    """x + conv–norm–ReLU–conv–norm(x), with reflection padding (He et al. 2016; the paper's R blocks)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def residual_generator(width: int = 8, blocks: int = 3) -> nn.Sequential:
    """Images (n, 1, 28, 28) ↦ images (n, 1, 28, 28) in [−1, 1]; ``blocks`` residual blocks at 7×7."""
    _check_size(width, "width")
    _check_size(blocks, "blocks")

    def stage(conv: nn.Module, channels: int) -> list[nn.Module]:
        return [conv, nn.InstanceNorm2d(channels), nn.ReLU()]

    w = width
    return nn.Sequential(
        *stage(nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(1, w, 3)), w),                    # w × 28 × 28
        *stage(nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), 2 * w),                             # 2w × 14 × 14
        *stage(nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1), 4 * w),                         # 4w × 7 × 7
        *[ResidualBlock(4 * w) for _ in range(blocks)],
        *stage(nn.ConvTranspose2d(4 * w, 2 * w, 3, stride=2, padding=1, output_padding=1), 2 * w),
        *stage(nn.ConvTranspose2d(2 * w, w, 3, stride=2, padding=1, output_padding=1), w),      # w × 28 × 28
        nn.ReflectionPad2d(1), nn.Conv2d(w, 1, 3), nn.Tanh())


def patch_critic(width: int = 16) -> nn.Sequential:
    """Images (n, 1, 28, 28) ↦ scores (n, 1, 7, 7), one per 18×18 patch; no output activation."""
    _check_size(width, "width")
    return nn.Sequential(
        nn.Conv2d(1, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),              # w × 14 × 14
        nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),      # 2w × 7 × 7
        nn.Conv2d(2 * width, 1, 3, padding=1))                                        # 1 × 7 × 7


class ImagePool:
    """The last ``size`` translations, from which a critic sees half of its fake batch.

    :meth:`query` (the paper's code): while the pool is not full, each new image is
    stored and returned; then each new image is, with probability ½, returned as it
    is, and otherwise swapped for a random stored one, which is returned instead. So
    the critic also sees older translations, and the generator cannot win by
    oscillating. ``size = 0`` returns the batch unchanged. The pool's content is part
    of a checkpoint (``state_dict``).
    """

    def __init__(self, size: int = 50):
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"the pool size must be a non-negative integer, got {size!r}")
        self.size, self.images = size, None

    def __len__(self) -> int:
        return 0 if self.images is None else len(self.images)

    @torch.no_grad()
    def query(self, images: torch.Tensor, rng: torch.Generator | None = None) -> torch.Tensor:
        if not isinstance(images, torch.Tensor) or images.ndim < 2 or len(images) == 0:
            raise ValueError(f"the pool takes a non-empty batch of images, got {getattr(images, 'shape', images)!r}")
        images = images.detach()
        if self.size == 0:
            return images
        if self.images is not None and (self.images.shape[1:] != images.shape[1:] or
                                        self.images.dtype != images.dtype):
            raise ValueError(f"the pool holds images of shape {tuple(self.images.shape[1:])}, "
                             f"got {tuple(images.shape[1:])}")
        if self.images is not None and self.images.device != images.device:
            self.images = self.images.to(images.device)   # after loading a checkpoint on the CPU
        # one draw per image, copied to the host at once
        coins = torch.rand(len(images), device=images.device, generator=rng).tolist()
        slots = torch.randint(self.size, (len(images),), device=images.device, generator=rng).tolist()
        returned = []
        for image, coin, slot in zip(images, coins, slots):
            if len(self) < self.size:
                stored = image[None].clone()
                self.images = stored if self.images is None else torch.cat([self.images, stored])
                returned.append(image)
            elif coin > 0.5:
                returned.append(self.images[slot].clone())
                self.images[slot] = image
            else:
                returned.append(image)
        return torch.stack(returned)

    def state_dict(self) -> dict:
        """The stored images, copied to the CPU (a copy on every device: later queries leave it alone)."""
        return {"size": self.size, "images": torch.empty(0) if self.images is None else self.images.cpu().clone()}

    def load_state_dict(self, state: dict) -> None:
        if state.get("size") != self.size:
            raise ValueError(f"a pool of size {state.get('size')} cannot be loaded into one of size {self.size}")
        self.images = state["images"].clone() if len(state["images"]) else None


def cycle_gan_optimizers(g: nn.Module, f: nn.Module, critic_x: nn.Module, critic_y: nn.Module,
                         lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999)):
    """The paper's Adam: one optimiser for both generators, one for both critics."""
    return (torch.optim.Adam(itertools.chain(g.parameters(), f.parameters()), lr=lr, betas=betas),
            torch.optim.Adam(itertools.chain(critic_x.parameters(), critic_y.parameters()), lr=lr, betas=betas))


# ---------------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------------

def train_cycle_gan(g: nn.Module, f: nn.Module, critic_x: nn.Module, critic_y: nn.Module,
                    x_images: torch.Tensor, y_images: torch.Tensor, *, loss: GANLoss = LEAST_SQUARES,
                    constraint: LipschitzConstraint | None = None, cycle_weight: float = 10.0,
                    identity_weight: float = 5.0, iterations: int, decay_start: int | None = None,
                    batch_size: int = 32, pool_size: int = 50, lr: float = 2e-4,
                    betas: tuple[float, float] = (0.5, 0.999), seed: int = 0,
                    evaluate: Callable[..., dict] | None = None, evaluate_every: int = 250,
                    checkpoint: str | os.PathLike | None = None, log_every: int = 50,
                    progress: bool = True, desc: str = "CycleGAN") -> dict:
    """Train G = ``g``: X → Y and F = ``f``: Y → X with their critics; return the history.

    Per iteration (the paper's order): one update of both generators on the full
    objective (see the module; ``cycle_weight`` = λ, ``identity_weight`` = λ_id,
    either may be 0 for the ablations), then one update of both critics, each on a
    batch of real images and a batch of translations from its :class:`ImagePool`
    (with ``constraint``'s penalty on :func:`patch_mean` of the critic). The batches
    of x and y are drawn independently, with replacement, from the two tensors, so
    no image is ever paired with another. The learning rates follow :func:`linear_decay`
    from ``decay_start`` (default: half of ``iterations``).

    The history has one entry per iteration of :data:`HISTORY_KEYS` (the adversarial
    and critic losses summed over both directions, the cycle and identity L1 terms
    before weighting) and ``"time"``; ``evaluate(g, f, critic_x, critic_y)`` runs at 0,
    every ``evaluate_every`` iterations and at the end (``history["metrics"]``). With
    ``checkpoint``, the state (models, optimisers, pools, random state) is saved at
    every evaluation and at the end, and a run finding the file resumes exactly. A
    non-finite loss stops training with ``FloatingPointError`` before any checkpoint
    records it.
    """
    constraint = LipschitzConstraint() if constraint is None else constraint
    device = _check_cycle_gan(g, f, critic_x, critic_y, x_images, y_images, loss, constraint,
                              cycle_weight, identity_weight, iterations=iterations, batch_size=batch_size,
                              seed=seed, evaluate_every=evaluate_every, log_every=log_every)
    decay_start = iterations // 2 if decay_start is None else decay_start
    if isinstance(decay_start, bool) or not isinstance(decay_start, int) or not 0 <= decay_start <= iterations:
        raise ValueError(f"decay_start must be an integer in [0, iterations], got {decay_start!r}")
    generator_optimizer, critic_optimizer = cycle_gan_optimizers(g, f, critic_x, critic_y, lr, betas)
    pool_x, pool_y = ImagePool(pool_size), ImagePool(pool_size)
    config = {"loss": loss.name, "constraint": constraint.config(), "cycle_weight": cycle_weight,
              "identity_weight": identity_weight, "iterations": iterations, "decay_start": decay_start,
              "batch_size": batch_size, "pool_size": pool_size, "lr": lr, "betas": list(betas), "seed": seed}
    rng = torch.Generator(device=device).manual_seed(seed)
    objects = {"g": g, "f": f, "critic_x": critic_x, "critic_y": critic_y, "pool_x": pool_x, "pool_y": pool_y,
               "generator_optimizer": generator_optimizer, "critic_optimizer": critic_optimizer}
    history, start = {"iteration": [], **{key: [] for key in HISTORY_KEYS}, "time": [],
                      "metrics": {"iteration": []}}, 0
    if checkpoint is not None and Path(checkpoint).is_file():
        saved = restore_checkpoint(checkpoint, config, rng, **objects)
        history, start = saved["history"], saved["iteration"]
    log = TrainingLog(history)
    elapsed = history["time"][-1] if history["time"] else 0.0
    generators, critics = (g, f), (critic_x, critic_y)
    if start == 0 and evaluate is not None:
        _record_evaluation(history, 0, evaluate_models(evaluate, *generators, *critics))
    bar = tqdm(range(start, iterations), initial=start, total=iterations, disable=not progress, desc=desc,
               unit="it", mininterval=0.5)
    for model in (*generators, *critics):
        model.train()
    try:
        for iteration in bar:
            tic = time.perf_counter()
            for optimizer in (generator_optimizer, critic_optimizer):
                for group in optimizer.param_groups:
                    group["lr"] = lr * linear_decay(iteration, iterations, decay_start)
            x, y = draw_batch(x_images, batch_size, rng), draw_batch(y_images, batch_size, rng)

            # 1. Both generators, through frozen critics: adversarial + λ cycle + λ_id identity.
            for critic in critics:
                critic.requires_grad_(False)
            fake_y, fake_x = g(x), f(y)
            adversarial = loss.generator(critic_y(fake_y)) + loss.generator(critic_x(fake_x))
            cycle = identity = torch.zeros((), device=device)
            if cycle_weight:
                cycle = cycle_consistency_loss(x, f(fake_y), y, g(fake_x))
            if identity_weight:
                identity = identity_loss(x, f(x), y, g(y))
            generator_optimizer.zero_grad(set_to_none=True)
            (adversarial + cycle_weight * cycle + identity_weight * identity).backward()
            generator_optimizer.step()
            for critic in critics:
                critic.requires_grad_(True)

            # 2. Both critics: real images against translations from the pools.
            critic_loss = penalty = torch.zeros((), device=device)
            for critic, real, fake in ((critic_y, y, pool_y.query(fake_y, rng)),
                                       (critic_x, x, pool_x.query(fake_x, rng))):
                critic_loss = critic_loss + loss.critic(critic(real), critic(fake))
                term = constraint.penalty(patch_mean(critic), real, fake, rng)
                if term is not None:
                    penalty = penalty + term
            critic_optimizer.zero_grad(set_to_none=True)
            (critic_loss + penalty).backward()
            critic_optimizer.step()
            for critic in critics:
                constraint.after_step(critic)
            elapsed += time.perf_counter() - tic

            # 3. Bookkeeping: statistics stay on the device until the next flush.
            done = iteration + 1
            log.record(done, adversarial=adversarial.detach(), cycle=cycle.detach(), identity=identity.detach(),
                       critic_loss=critic_loss.detach(), penalty=penalty.detach(), time=elapsed)
            evaluate_now = evaluate is not None and (done % evaluate_every == 0 or done == iterations)
            checkpoint_now = checkpoint is not None and (done % evaluate_every == 0 or done == iterations)
            if done % log_every == 0 or evaluate_now or checkpoint_now or done == iterations:
                last = log.flush()   # raises FloatingPointError on a non-finite value
                bar.set_postfix({"cycle": f"{last['cycle']:.3f}"}, refresh=False)
            if evaluate_now:
                _record_evaluation(history, done, evaluate_models(evaluate, *generators, *critics))
            if checkpoint_now:
                save_checkpoint(checkpoint, checkpoint_state(done, config, history, rng, **objects))
    finally:
        bar.close()
        for model in (*generators, *critics):
            model.eval()
    return history


def _record_evaluation(history: dict, iteration: int, values: dict) -> None:
    evaluations = history["metrics"]
    evaluations["iteration"].append(iteration)
    for name, value in values.items():
        evaluations.setdefault(name, []).append(value)


def _check_cycle_gan(g, f, critic_x, critic_y, x_images, y_images, loss, constraint, cycle_weight,
                     identity_weight, **counts) -> torch.device:
    """Refuse bad arguments with a clear message; return the models' device."""
    from .mnist_data import check_images
    for label, value in counts.items():
        minimum = 0 if label in ("iterations", "seed") else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{label} must be a {'non-negative' if minimum == 0 else 'positive'} integer, "
                             f"got {value!r}")
    for label, value in (("cycle_weight", cycle_weight), ("identity_weight", identity_weight)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
            raise ValueError(f"{label} must be a finite number ≥ 0, got {value!r}")
    if not isinstance(loss, GANLoss):
        raise TypeError(f"loss must be a GANLoss (LEAST_SQUARES or WASSERSTEIN), got {loss!r}")
    if not isinstance(constraint, LipschitzConstraint):
        raise TypeError(f"constraint must be None or a LipschitzConstraint such as GradientPenalty(10), "
                        f"got {constraint!r}")
    if loss.name == WASSERSTEIN.name and constraint.name == "none":
        raise ValueError("the Wasserstein loss needs a Lipschitz constraint on the critics "
                         "(constraint=GradientPenalty(10)); without one their scores grow without bound")
    devices = set()
    for label, model in (("G", g), ("F", f), ("critic_x", critic_x), ("critic_y", critic_y)):
        parameter = next(model.parameters(), None)
        if parameter is None:
            raise ValueError(f"{label} has no parameters to train")
        if uses_batch_norm(model):
            raise ValueError(f"{label} uses batch norm: CycleGAN's networks use instance norm (or none)")
        constraint.check(model) if label.startswith("critic") else None
        devices.add(parameter.device)
    if len(devices) > 1:
        raise ValueError(f"the four networks must be on one device, got {sorted(map(str, devices))}")
    device = devices.pop()
    for label, images in (("x_images", x_images), ("y_images", y_images)):
        check_images(images, label)
        if images.device != device:
            raise ValueError(f"{label} are on {images.device} but the models on {device}: move them once")
    return device
