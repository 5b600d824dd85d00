"""Time until the generated digits are recognisable, per variant, with a profile's settings.

"Recognisable" is measured, not eyeballed, with the quality bar the chapter
"Training on images" asserts on its reference runs: on samples from fixed latent
codes (as many as the metrics' real reference), our digit classifier's mean
confidence is at least 0.85, every one of the 10 classes gets at least 5 % of
the samples, and the Fréchet distance is within 10 times the real-vs-real floor
(:class:`course_utils.image_metrics.DigitMetrics`). Training runs in
chunks of ``profile.mnist_metric_every`` iterations, each resuming the previous
one's checkpoint (exactly, as an uninterrupted run would), until the criterion
holds or ``--max-minutes`` of training have passed. The time reported is the
training loop's own (``history["time"]``, without the metric evaluations), and
the wall time around it.

Target with the cpu profile on 2 cores: under 10 minutes.

    python benchmarks/bench_time_to_digits.py [--algo wgan-gp dcgan] [--profile cpu] [--max-minutes 15]
"""

import argparse
import tempfile
import time

import torch

from course_utils.mnist_data import load_mnist
from course_utils.profiles import get_device, get_profile
from course_utils.image_gans import ALGORITHMS, build_variant, checkpoint_path, digit_metrics, train_variant

CONFIDENCE, CLASSES, FRECHET_FACTOR = 0.85, 10, 10


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algo", nargs="+", default=["wgan-gp"], choices=ALGORITHMS)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--device", default=None)
    parser.add_argument("--max-minutes", type=float, default=15.0)
    args = parser.parse_args()
    profile, device = get_profile(args.profile), get_device(args.device)
    data = load_mnist(profile.mnist_source, device=device)
    metrics = digit_metrics(data, profile, progress=False)
    print(f"profile {profile.name}, {device}, {torch.get_num_threads()} threads, {len(data.train_images)} digits; "
          f"classifier accuracy {metrics.accuracy:.3f}; real-vs-real floor: confidence "
          f"{metrics.floor['confidence']:.3f}, {metrics.floor['covered']} classes")
    for algo in args.algo:
        gan = build_variant(algo, profile, device)
        step, done, wall = profile.mnist_metric_every, 0, time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            while True:
                done += step
                run = train_variant(gan, data.train_images, metrics, profile=profile, iterations=done,
                                    checkpoint=checkpoint_path(folder, algo, profile), progress=False)
                last = {name: values[-1] for name, values in run.history["metrics"].items()}
                reached = (last["confidence"] >= CONFIDENCE and last["covered"] >= CLASSES
                           and last["frechet"] <= FRECHET_FACTOR * metrics.floor["frechet"])
                if reached or run.history["time"][-1] > 60 * args.max_minutes:
                    break
        seconds = run.history["time"][-1]
        verdict = "recognisable" if reached else f"NOT recognisable within {args.max_minutes:g} min"
        print(f"  {algo:8s} {verdict} after {done} iterations: {seconds / 60:.1f} min of training "
              f"({(time.perf_counter() - wall) / 60:.1f} min wall with metrics); confidence "
              f"{last['confidence']:.3f}, {last['covered']:.0f} classes, Fréchet {last['frechet']:.1f}, "
              f"precision {last['precision']:.2f}, recall {last['recall']:.2f}", flush=True)


if __name__ == "__main__":
    main()
