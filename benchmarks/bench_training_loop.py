"""Our training loop against a plain hand-written one: generator iterations per second.

Both train the same WGAN-GP (same MLPs, same initial weights, batch, n_critic,
λ = 10, Adam 1e-4 β = (0.5, 0.9)) on the 8 Gaussians, with the data as one
tensor and batches drawn by index. The plain loop is the one most tutorials
write: the generator's forward pass in the critic step builds an autograd graph
that `.detach()` then throws away, and the generator step also computes the
critic's weight gradients, and real and generated batches go through the critic
in two passes. `course_utils.training.train_gan` does none of these (one joint
pass when the critic has no batch norm), and on top of that records a history
and checks for NaN; its progress bar is off here.

Runs alternate (plain, ours, plain, ours, …) so that a slow moment of the
machine hits both; each rate is the median over the repeats, after a warm-up, and
the ratio is the median of the per-pair ratios (ours / plain run back to back),
which a noisy shared machine disturbs least.
Target: ratio ours / plain ≥ 1.0. (On CPU the widest model runs a fifth of the iterations.)

    python benchmarks/bench_training_loop.py [--iterations 200] [--repeats 5] [--device cpu]
"""

import argparse
import statistics
import time

import torch

from course_utils.gan_losses import WASSERSTEIN
from course_utils.lipschitz import GradientPenalty
from course_utils.models import critic_mlp, generator_mlp
from course_utils.toy_data import sample_toy
from course_utils.training import train_gan


def plain_wgan_gp(generator, critic, data, iterations, batch_size, n_critic, lam=10.0):
    """A straightforward WGAN-GP loop, as in most tutorials."""
    g_opt = torch.optim.Adam(generator.parameters(), lr=1e-4, betas=(0.5, 0.9))
    c_opt = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.5, 0.9))
    device = data.device
    for _ in range(iterations):
        for _ in range(n_critic):
            real = data[torch.randint(len(data), (batch_size,), device=device)]
            fake = generator(torch.randn(batch_size, 2, device=device))
            c_loss = critic(fake.detach()).mean() - critic(real).mean()
            eps = torch.rand(batch_size, 1, device=device)
            x_hat = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
            grad, = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
            penalty = lam * ((grad.norm(2, dim=1) - 1) ** 2).mean()
            c_opt.zero_grad()
            (c_loss + penalty).backward()
            c_opt.step()
        g_loss = -critic(generator(torch.randn(batch_size, 2, device=device))).mean()
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()


def ours(generator, critic, data, iterations, batch_size, n_critic):
    train_gan(generator, critic, data, loss=WASSERSTEIN, constraint=GradientPenalty(10.0), iterations=iterations,
              latent_dim=2, batch_size=batch_size, n_critic=n_critic, progress=False)


def rate(loop, width, data, iterations, batch_size, n_critic, device) -> float:
    torch.manual_seed(0)
    generator, critic = generator_mlp(width=width).to(device), critic_mlp(width=width).to(device)
    loop(generator, critic, data, 5, batch_size, n_critic)                 # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    loop(generator, critic, data, iterations, batch_size, n_critic)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return iterations / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200, help="generator iterations per timed run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    data = sample_toy("8gaussians", 100_000, torch.Generator(device=device).manual_seed(0), device)
    print(f"WGAN-GP on 8 Gaussians, n_critic 5, {args.iterations} generator iterations x {args.repeats} "
          f"repeats on {device} ({torch.get_num_threads()} threads); generator iterations per second "
          f"(medians) and the median ratio ours / plain of back-to-back pairs")
    print(f"{'MLP width':>9s} {'batch':>6s} {'plain':>8s} {'ours':>8s} {'ratio':>7s}")
    for width, batch_size in ((64, 64), (128, 256), (512, 256)):
        rates = {"plain": [], "ours": []}
        iterations = args.iterations if width < 512 or device.type == "cuda" else max(10, args.iterations // 5)
        for _ in range(args.repeats):
            rates["plain"].append(rate(plain_wgan_gp, width, data, iterations, batch_size, 5, device))
            rates["ours"].append(rate(ours, width, data, iterations, batch_size, 5, device))
        plain, mine = statistics.median(rates["plain"]), statistics.median(rates["ours"])
        ratio = statistics.median(o / p for p, o in zip(rates["plain"], rates["ours"]))
        print(f"{width:9d} {batch_size:6d} {plain:8.1f} {mine:8.1f} {ratio:7.2f}", flush=True)


if __name__ == "__main__":
    main()
