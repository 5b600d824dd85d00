"""WGAN-GP on MNIST: our loop against a straightforward DataLoader loop, in generator iterations per second.

Both train the same DCGAN-style models (same initial weights, width and latent
size of the chosen profile) with batch 64, n_critic 5, λ = 10 and Adam 1e-4
β = (0.5, 0.9) on the same 4,000 embedded digits:

* the reference is the loop of most tutorials: ``torchvision.datasets.MNIST``
  (the digits written in its file layout) behind a ``DataLoader`` with per-sample
  ``ToTensor`` and ``Normalize`` transforms, real and generated batches through
  the critic separately, the generator's forward pass building a graph that
  ``.detach()`` throws away, the critic's weight gradients computed during the
  generator step, and ``.item()`` for logging every iteration;
* ours is ``course_utils.image_gans.build_variant("wgan-gp")`` + ``train_gan``: the
  models in the channels_last layout, the digits as one tensor on the device,
  batches drawn by index, one joint critic pass, the critic frozen for the
  generator step, history and NaN checks, one host–device transfer per iteration.

The reference runs with the models in PyTorch's default layout, as tutorials
leave them, and once more in channels_last, so that the printout separates what
the layout buys from what the loop buys. Runs alternate; each ratio is the median
of back-to-back triples. Target on CPU: ours ≥ 2× the reference.

    python benchmarks/bench_mnist_loop.py [--iterations 30] [--repeats 3] [--profile cpu] [--device cpu]
"""

import argparse
import copy
import statistics
import tempfile
import time

import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from course_utils.mnist_data import load_mnist, save_as_idx
from course_utils.profiles import get_device, get_profile
from course_utils.image_gans import build_variant
from course_utils.training import train_gan


def reference_wgan_gp(generator, critic, loader, iterations, latent_dim, device, n_critic=5, lam=10.0):
    """The usual tutorial loop, with per-sample transforms in the DataLoader."""
    g_opt = torch.optim.Adam(generator.parameters(), lr=1e-4, betas=(0.5, 0.9))
    c_opt = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.5, 0.9))
    batches = iter(loader)

    def next_batch():
        nonlocal batches
        try:
            return next(batches)[0].to(device)
        except StopIteration:
            batches = iter(loader)
            return next(batches)[0].to(device)

    log = []
    for _ in range(iterations):
        for _ in range(n_critic):
            real = next_batch()
            fake = generator(torch.randn(len(real), latent_dim, device=device))
            c_loss = critic(fake.detach()).mean() - critic(real).mean()
            eps = torch.rand(len(real), 1, 1, 1, device=device)
            x_hat = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
            grad, = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
            penalty = lam * ((grad.view(len(real), -1).norm(2, dim=1) - 1) ** 2).mean()
            c_opt.zero_grad()
            (c_loss + penalty).backward()
            c_opt.step()
        g_loss = -critic(generator(torch.randn(64, latent_dim, device=device))).mean()
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
        log.append((c_loss.item(), g_loss.item()))
    return log


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    profile, device = get_profile(args.profile), get_device(args.device)
    data = load_mnist(device=device)
    gan = build_variant("wgan-gp", profile, device)
    generator0, critic0 = copy.deepcopy(gan.generator.state_dict()), copy.deepcopy(gan.critic.state_dict())
    with tempfile.TemporaryDirectory() as root:
        save_as_idx(data, root)
        dataset = datasets.MNIST(root, train=True, transform=transforms.Compose(
            [transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))]))
        loader = DataLoader(dataset, batch_size=64, shuffle=True, drop_last=True)

        def fresh(memory_format=torch.channels_last):
            gan.generator.load_state_dict(generator0), gan.critic.load_state_dict(critic0)
            gan.generator.to(memory_format=memory_format), gan.critic.to(memory_format=memory_format)
            return gan.generator.train(), gan.critic.train()

        def run_reference(memory_format=torch.contiguous_format):
            generator, critic = fresh(memory_format)
            reference_wgan_gp(generator, critic, loader, args.iterations, gan.latent_dim, device)

        def run_ours():
            generator, critic = fresh()
            train_gan(generator, critic, data.train_images, loss=gan.loss, constraint=gan.constraint,
                      iterations=args.iterations, latent_dim=gan.latent_dim, batch_size=64, n_critic=5,
                      progress=False)

        def rate(run):
            if device.type == "cuda":
                torch.cuda.synchronize()
            tic = time.perf_counter()
            run()
            if device.type == "cuda":
                torch.cuda.synchronize()
            return args.iterations / (time.perf_counter() - tic)

        def run_reference_channels_last():
            run_reference(torch.channels_last)

        runs = (run_reference, run_reference_channels_last, run_ours)
        [rate(run) for run in runs]   # warm-up
        triples = [[rate(run) for run in runs] for _ in range(args.repeats)]
    reference, reference_cl, ours = (statistics.median(t[i] for t in triples) for i in range(3))
    ratio = statistics.median(t[2] / t[0] for t in triples)
    ratio_cl = statistics.median(t[2] / t[1] for t in triples)
    print(f"WGAN-GP on MNIST, {device}, {torch.get_num_threads()} threads, profile {profile.name} "
          f"(width {profile.mnist_width}, latent {profile.mnist_latent_dim}), batch 64, n_critic 5, "
          f"{args.iterations} iterations x {args.repeats} triples")
    print(f"  reference (DataLoader + ToTensor/Normalize):  {reference:7.2f} it/s")
    print(f"  the same, models in channels_last:            {reference_cl:7.2f} it/s")
    print(f"  ours (channels_last, tensor on the device):   {ours:7.2f} it/s")
    print(f"  ratio ours / reference: {ratio:.2f}  (target >= 2 on CPU); "
          f"ours / channels_last reference: {ratio_cl:.2f}")


if __name__ == "__main__":
    main()
