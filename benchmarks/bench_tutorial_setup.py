"""Quality per minute: the chapter's live WGAN-GP against the common tutorial setup, same digits, same time.

The tutorial setup, as many WGAN-GP tutorials write it: fully connected networks
(generator 64 → 256 → 512 → 784 with ReLU and a tanh; critic 784 → 512 → 256 → 1
with LeakyReLU 0.2), fed by a ``torch.utils.data.DataLoader`` whose dataset turns
each stored uint8 image into a tensor with torchvision's ``ToTensor`` and
``Normalize`` at every access, shuffled batches of 64; Adam 1e-4, β = (0.5, 0.9),
λ = 10, a generator step after every fifth critic batch.

The course's: the ``cpu`` profile's convolutional WGAN-GP (``build_variant``),
trained by ``train_gan`` on the digits kept as one tensor on the device.

Both train on the same 4,000 embedded digits for the same training time
(evaluations excluded: the course's run trains in chunks of 100 iterations until
the time is up, and the tutorial then gets exactly the time those chunks took) and are scored by the chapter's metrics
(:class:`course_utils.image_metrics.DigitMetrics`: Fréchet distance, precision,
recall, classes covered, confidence) on samples from the same 500 codes.

    python benchmarks/bench_tutorial_setup.py [--minutes 5] [--threads 2]
"""

import argparse
import tempfile
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from course_utils.image_gans import build_variant, checkpoint_path, digit_metrics, train_variant
from course_utils.mnist_data import load_mnist
from course_utils.profiles import get_profile

LATENT = 64


class StoredDigits(Dataset):
    """uint8 images, transformed one by one at every access, as in the tutorials."""

    def __init__(self, images):
        self.images = images
        self.transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.transform(self.images[index])


def tutorial_models():
    generator = nn.Sequential(nn.Linear(LATENT, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(),
                              nn.Linear(512, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)))
    critic = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256),
                           nn.LeakyReLU(0.2), nn.Linear(256, 1))
    return generator, critic


def train_tutorial(images_uint8, seconds, seed=0):
    """The tutorial loop, for ``seconds`` of training; returns the models and the iterations done."""
    torch.manual_seed(seed)
    generator, critic = tutorial_models()
    g_opt = torch.optim.Adam(generator.parameters(), lr=1e-4, betas=(0.5, 0.9))
    c_opt = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.5, 0.9))
    loader = DataLoader(StoredDigits(images_uint8), batch_size=64, shuffle=True, drop_last=True)
    start, batches, iterations = time.perf_counter(), 0, 0
    while time.perf_counter() - start < seconds:
        for real in loader:
            fake = generator(torch.randn(len(real), LATENT)).detach()
            eps = torch.rand(len(real), 1, 1, 1)
            mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
            grad, = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
            penalty = 10 * ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
            loss = critic(fake).mean() - critic(real).mean() + penalty
            c_opt.zero_grad()
            loss.backward()
            c_opt.step()
            batches += 1
            if batches % 5 == 0:
                g_loss = -critic(generator(torch.randn(64, LATENT))).mean()
                g_opt.zero_grad()
                g_loss.backward()
                g_opt.step()
                iterations += 1
            if time.perf_counter() - start >= seconds:
                break
    return generator.eval(), critic.eval(), iterations


def train_course(data, metrics, seconds, chunk=100):
    """The cpu profile's WGAN-GP, in chunks of ``chunk`` iterations until ``seconds`` of training."""
    profile = get_profile("cpu")
    gan = build_variant("wgan-gp", profile, "cpu")
    done = 0
    with tempfile.TemporaryDirectory() as folder:
        while True:
            done += chunk
            run = train_variant(gan, data.train_images, metrics, profile=profile, iterations=done,
                                checkpoint=checkpoint_path(folder, "wgan-gp", profile), progress=False)
            if run.history["time"][-1] >= seconds:
                return run.generator.eval(), run.critic.eval(), done, run.history["time"][-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seconds = 60 * args.minutes
    data = load_mnist("embedded", device="cpu")
    metrics = digit_metrics(data, get_profile("cpu"), progress=False)
    evaluate = metrics.evaluation(LATENT)
    floor = metrics.floor
    print(f"{len(data.train_images)} digits, {torch.get_num_threads()} threads, {args.minutes:g} min of training "
          f"each; real vs real: Fréchet {floor['frechet']:.1f}, precision {floor['precision']:.2f}, "
          f"recall {floor['recall']:.2f}, confidence {floor['confidence']:.3f}", flush=True)
    images_uint8 = ((data.train_images[:, 0] + 1) * 127.5).round().byte().numpy()
    results = {}
    G, C, iterations, spent = train_course(data, metrics, seconds)
    results["course: cpu profile, conv"] = (iterations, spent, evaluate(G, C))
    # the tutorial gets exactly the training time the course's chunks added up to
    G, C, iterations = train_tutorial(images_uint8, spent)
    results["tutorial: MLPs, DataLoader"] = (iterations, spent, evaluate(G, C))
    print(f"{'setup':28s} {'iterations':>10s} {'minutes':>8s} {'Fréchet':>8s} {'precision':>9s} {'recall':>7s} "
          f"{'classes':>7s} {'confidence':>10s}")
    for label, (iterations, spent, m) in results.items():
        print(f"{label:28s} {iterations:10,d} {spent / 60:8.1f} {m['frechet']:8.1f} {m['precision']:9.2f} "
              f"{m['recall']:7.2f} {m['covered']:7.0f} {m['confidence']:10.3f}", flush=True)


if __name__ == "__main__":
    main()
