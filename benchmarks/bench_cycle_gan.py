"""CycleGAN between MNIST and the 8×8 digits: iterations per second of ``train_cycle_gan``.

The networks and settings of the chapter's reference runs (``cyclegan-*``): residual
generators of width 8 with 3 blocks, patch critics of width 16, a batch of 32 images of
each domain, on the 4,000 embedded MNIST digits and the 1,197 training 8×8 digits. For
the least-squares loss and for WGAN-GP (the penalty's double backward), and for each
batch size asked, it prints iterations per second of the whole loop (both generators,
then both critics), after ``--warmup`` iterations, without evaluations.

    python benchmarks/bench_cycle_gan.py [--device cuda] [--iterations 100] [--batches 32 128]
"""

import argparse
import time

import torch

from course_utils.cycle_gan import LEAST_SQUARES, patch_critic, residual_generator, train_cycle_gan
from course_utils.digit_domains import load_small_digits
from course_utils.gan_losses import WASSERSTEIN
from course_utils.lipschitz import GradientPenalty
from course_utils.mnist_data import load_mnist
from course_utils.profiles import get_device


def iterations_per_second(x, y, batch, loss, constraint, iterations, warmup, device):
    torch.manual_seed(0)
    models = [residual_generator(8, 3), residual_generator(8, 3), patch_critic(16), patch_critic(16)]
    models = [model.to(device) for model in models]
    kwargs = dict(loss=loss, constraint=constraint, batch_size=batch, progress=False)
    train_cycle_gan(*models, x, y, iterations=warmup, **kwargs)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    history = train_cycle_gan(*models, x, y, iterations=iterations, **kwargs)
    return iterations / history["time"][-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu, cuda (default: CUDA if available)")
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--batches", type=int, nargs="+", default=[32])
    args = parser.parse_args()
    device = get_device(args.device)
    x = load_mnist("embedded", device=device).train_images
    y = load_small_digits(device=device).train_images
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"train_cycle_gan on {name}: {args.iterations} iterations after {args.warmup}")
    print("| batch | least squares, it/s | WGAN-GP, it/s |")
    print("|---:|---:|---:|")
    for batch in args.batches:
        rates = [iterations_per_second(x, y, batch, loss, constraint, args.iterations, args.warmup, device)
                 for loss, constraint in ((LEAST_SQUARES, None), (WASSERSTEIN, GradientPenalty(10)))]
        print(f"| {batch} | {rates[0]:.1f} | {rates[1]:.1f} |")


if __name__ == "__main__":
    main()
