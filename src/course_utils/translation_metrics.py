"""How good is a translation between two digit domains? Labels kept, cycles closed, target style reached.

Unpaired translation has no ground-truth output to compare with, but digits carry
a label that a translation should keep: a 3 translated into the other domain's
style is still a 3. Following CyCADA (Hoffman et al., ICML 2018) and the CycleGAN
paper's "FCN score", a classifier trained on the *target* domain's real digits
(the judge) reads the translations, and :func:`label_preservation` is the share it
reads as the source digit's label. Its ceiling is the judge's accuracy on real
held-out target digits; a map that ignores its input scores about 10 %.

:func:`translation_judges` builds both judges (the course's
:class:`~course_utils.image_metrics.DigitClassifier`, one per domain) with the
target domain's Fréchet distance, precision/recall and class coverage
(:class:`~course_utils.image_metrics.DigitMetrics`, with its real-vs-real floor).
:func:`translation_evaluation` gives the function that a training loop calls:
label preservation, cycle error and quality in both directions, and a fixed grid of
translations for the slider over training.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from .image_metrics import DigitMetrics, classifier_accuracy, train_classifier
from .mnist_data import MNISTSplit, check_images

__all__ = ["Judges", "cycle_error", "label_preservation", "translate", "translation_evaluation",
           "translation_judges"]


@torch.no_grad()
def translate(model: nn.Module, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """``model(images)`` in chunks, without gradients."""
    return torch.cat([model(chunk) for chunk in images.split(batch_size)])


@torch.no_grad()
def label_preservation(judge: nn.Module, translated: torch.Tensor, source_labels: torch.Tensor) -> dict:
    """How often the target domain's ``judge`` reads each translation as its source digit's label.

    Returns ``accuracy`` (the share kept), ``predicted`` (the judge's labels, (n,))
    and ``confusion`` (10 × 10 counts, row = source label, column = label read).
    """
    check_images(translated, "the translated images")
    if source_labels.shape != (len(translated),) or source_labels.dtype.is_floating_point \
            or source_labels.dtype == torch.bool or source_labels.min() < 0 or source_labels.max() > 9:
        raise ValueError(f"source_labels must be (n,) integers in 0…9 with n = {len(translated)} images, "
                         f"got shape {tuple(source_labels.shape)} and dtype {source_labels.dtype}")
    judge.eval()
    predicted = translate(judge, translated).argmax(1)
    confusion = torch.bincount(source_labels * 10 + predicted, minlength=100).view(10, 10)
    return {"accuracy": (predicted == source_labels).float().mean().item(), "predicted": predicted,
            "confusion": confusion.cpu()}


@torch.no_grad()
def cycle_error(forward: nn.Module, backward: nn.Module, images: torch.Tensor) -> float:
    """Mean |backward(forward(x)) − x| per pixel, on [−1, 1] images: 0 for inverse maps."""
    check_images(images, "the images to send round the cycle")
    return (translate(backward, translate(forward, images)) - images).abs().mean().item()


class Judges(NamedTuple):
    """Per domain, the judge (a classifier of its real digits) and the metrics against its held-out digits."""

    x: DigitMetrics
    y: DigitMetrics


def translation_judges(x: MNISTSplit, y: MNISTSplit, *, epochs_x: int = 10, epochs_y: int = 40,
                       progress: bool = True) -> Judges:
    """A :class:`DigitMetrics` per domain, each with its classifier trained on that domain's training digits.

    The metrics compare with half of the domain's held-out digits; the other half gives
    the real-vs-real ``floor``; ``accuracy`` is the classifier's on all held-out digits:
    the ceiling of label preservation into that domain. The 8×8 domain has 1,197
    training digits against MNIST's 4,000, hence more epochs (at batch 128, 400 steps
    against 320). Classifiers are cached as :func:`train_classifier` says.
    """
    judges = []
    for split, epochs in ((x, epochs_x), (y, epochs_y)):
        classifier = train_classifier(split.train_images, split.train_labels, epochs=epochs, progress=progress)
        metrics = DigitMetrics(classifier, split.test_images[0::2])
        metrics.accuracy = classifier_accuracy(classifier, split.test_images, split.test_labels)
        metrics.floor = metrics.metrics(split.test_images[1::2])
        judges.append(metrics)
    return Judges(*judges)


def _as_uint8(images: torch.Tensor) -> torch.Tensor:
    return ((images[:, 0] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


def translation_evaluation(x: MNISTSplit, y: MNISTSplit, judges: Judges, grid: int = 10):
    """``(g, f, critic_x, critic_y) ↦ {name: value}`` for :func:`~course_utils.cycle_gan.train_cycle_gan`.

    On all held-out digits of both domains: label preservation (``x_to_y_labels``,
    ``y_to_x_labels``), the cycle errors, and the target domain's Fréchet distance,
    precision, recall, classes covered and confidence of the translations
    (``x_to_y_frechet``, …). ``samples``: the first held-out digit of each class in
    both domains, as uint8 rows: x, G(x), F(G(x)), y, F(y), G(F(y)) (6·``grid`` images).
    """
    first = lambda split: torch.stack([torch.nonzero(split.test_labels == c)[0, 0] for c in range(grid)])
    shown_x, shown_y = x.test_images[first(x)], y.test_images[first(y)]

    def evaluate(g: nn.Module, f: nn.Module, critic_x: nn.Module, critic_y: nn.Module) -> dict:
        values = {}
        for name, forward, backward, source, target in (("x_to_y", g, f, x, judges.y),
                                                        ("y_to_x", f, g, y, judges.x)):
            translated = translate(forward, source.test_images)
            values[f"{name}_labels"] = label_preservation(target.classifier, translated,
                                                          source.test_labels)["accuracy"]
            values[f"{name}_cycle"] = (translate(backward, translated) - source.test_images).abs().mean().item()
            for metric, value in target.metrics(translated).items():
                if metric != "kl_uniform":
                    values[f"{name}_{metric}"] = value
        rows = [shown_x, g(shown_x), f(g(shown_x)), shown_y, f(shown_y), g(f(shown_y))]
        values["samples"] = _as_uint8(torch.cat(rows))
        return values

    return evaluate
