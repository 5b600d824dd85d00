"""OT-GAN on MNIST: iterations per second of ``train_ot_gan``, and where one iteration's time goes.

The networks and settings of the chapter's reference runs (``otgan-mnist-b64`` and
``-b256``): the DCGAN generator of width 16, the feature critic with 256 features,
ε = 0.1, n_gen = 3, on the 4,000 embedded digits. For each batch size it prints

* iterations per second of the whole loop (one update per iteration, a critic
  update every fourth), after ``--warmup`` iterations;
* one generator update split into the critic's features (forward), the six cost
  matrices, the six Sinkhorn problems (POT's batched log-domain solver) and the
  backward pass with the optimiser step, medians over ``--repeats``.

Freshly initialised networks: Sinkhorn converges in fewer iterations than it
does later in training, when the learned costs spread out.

    python benchmarks/bench_ot_gan.py [--device cuda] [--iterations 60] [--batches 64 256]
"""

import argparse
import statistics
import time

import torch

from course_utils.conv_models import dcgan_generator
from course_utils.mnist_data import load_mnist
from course_utils.ot_gan import batch_transport_costs, cosine_cost, feature_critic, train_ot_gan
from course_utils.profiles import get_device


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def split_one_update(images, batch, device, repeats):
    """Median milliseconds of each part of one generator update."""
    torch.manual_seed(0)
    generator = dcgan_generator(64, 16).to(device)
    critic = feature_critic(16, 256).to(device)
    optimizer = torch.optim.Adam(generator.parameters(), lr=3e-4, betas=(0.5, 0.999))
    parts = {"features": [], "costs": [], "Sinkhorn": [], "backward": []}
    for repeat in range(repeats + 1):
        marks = [time.perf_counter()]
        fake = generator(torch.randn(2 * batch, 64, device=device))
        features = critic(torch.cat([images[:2 * batch], fake]))
        _sync(device)
        marks.append(time.perf_counter())
        x, x2, y, y2 = features.split(batch)
        costs = torch.stack([cosine_cost(u, v) for u, v in
                             [(x, y), (x, y2), (x2, y), (x2, y2), (x, x2), (y, y2)]])
        _sync(device)
        marks.append(time.perf_counter())
        w, _ = batch_transport_costs(costs, 0.1)
        _sync(device)
        marks.append(time.perf_counter())
        optimizer.zero_grad()
        ((w[0] + w[1] + w[2] + w[3]) / 2 - w[4] - w[5]).backward()
        optimizer.step()
        _sync(device)
        marks.append(time.perf_counter())
        if repeat:                       # the first is a warm-up
            for key, start, end in zip(parts, marks, marks[1:]):
                parts[key].append((end - start) * 1e3)
    return {key: statistics.median(values) for key, values in parts.items()}


def iterations_per_second(images, batch, device, iterations, warmup):
    torch.manual_seed(0)
    generator = dcgan_generator(64, 16).to(device)
    critic = feature_critic(16, 256).to(device)
    history = train_ot_gan(generator, critic, images, epsilon=0.1, iterations=warmup + iterations,
                           latent_dim=64, batch_size=batch, n_gen=3, progress=False)
    seconds = history["time"][-1] - history["time"][warmup - 1]
    return iterations / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu or cuda (default: CUDA if available)")
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 256])
    args = parser.parse_args()
    device = get_device(args.device)
    images = load_mnist("embedded", device=device).train_images
    threads = torch.get_num_threads()
    name = (torch.cuda.get_device_name(device) if device.type == "cuda"
            else f"CPU, {threads} thread{'s' if threads != 1 else ''}")
    print(f"OT-GAN on MNIST, {name}")
    print("| batch | iterations/s | features (ms) | costs (ms) | Sinkhorn (ms) | backward + step (ms) |")
    print("|--:|--:|--:|--:|--:|--:|")
    for batch in args.batches:
        speed = iterations_per_second(images, batch, device, args.iterations, args.warmup)
        parts = split_one_update(images, batch, device, args.repeats)
        print(f"| {batch} | {speed:.1f} | " + " | ".join(f"{v:.1f}" for v in parts.values()) + " |",
              flush=True)


if __name__ == "__main__":
    main()
