"""Discriminator optimal transport: seconds per DOT pass, per 1,000 samples.

Times the three passes of the chapter "Discriminator optimal transport" on the
profile's models: target-space DOT on 2-D samples (MLP critic, 100 Adam steps),
latent-space DOT on MNIST (DCGAN-style generator and critic, 10 SGD steps, the
authors' setting) and target-space DOT on MNIST (100 Adam steps). The cost of a
step does not depend on the weights, so the models are freshly initialised rather
than trained. The chapter asks for 10,000 MNIST samples on a GPU:

    python benchmarks/bench_dot.py [--samples 1000] [--repeats 3] [--profile cpu] [--device cpu]
    python benchmarks/bench_dot.py --samples 10000 --profile gpu --device cuda
"""

import argparse
import time

import torch

from course_utils.dot import latent_space_dot, target_space_dot
from course_utils.models import critic_mlp
from course_utils.profiles import get_device, get_profile
from course_utils.image_gans import build_variant


def best_of(function, repeats: int, device: torch.device) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    profile, device = get_profile(args.profile), get_device(args.device)
    torch.manual_seed(0)
    gan = build_variant("wgan-gp", profile, device)
    generator, critic = gan.generator.eval(), gan.critic.eval()
    toy_critic = critic_mlp(width=profile.toy_width).to(device).eval()
    n = args.samples
    codes = torch.randn(n, gan.latent_dim, device=device)
    with torch.no_grad():
        images = generator(codes)
    points = torch.randn(n, 2, device=device)
    best_of(lambda: latent_space_dot(generator, critic, codes[:64], 1.0, steps=2), 1, device)   # warm-up
    passes = {
        "2-D, target space, 100 Adam steps": lambda: target_space_dot(toy_critic, points, 1.0),
        "MNIST, latent space, 10 SGD steps": lambda: latent_space_dot(generator, critic, codes, 1.0, steps=10),
        "MNIST, target space, 100 Adam steps": lambda: target_space_dot(critic, images, 1.0),
    }
    print(f"profile {profile.name} (MNIST width {profile.mnist_width}, latent {profile.mnist_latent_dim}; "
          f"2-D width {profile.toy_width}), device {device}, {n:,} samples, best of {args.repeats}")
    for label, function in passes.items():
        seconds = best_of(function, args.repeats, device)
        print(f"{label:38s} {seconds:8.2f} s for {n:,} samples = {1000 * seconds / n:6.3f} s per 1,000 "
              f"({n / seconds:,.0f} samples/s)")


if __name__ == "__main__":
    main()
