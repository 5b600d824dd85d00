"""The metrics of generated digits: closed forms, the real-vs-real floor, and a collapsed generator."""

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from course_utils.image_metrics import (DigitMetrics, class_coverage, classifier_accuracy, frechet_distance,
                                        precision_recall, train_classifier)
from course_utils.mnist_data import load_mnist


def test_frechet_distance_matches_the_gaussian_closed_form():
    rng = np.random.default_rng(0)
    # 1-D: W2² between N(m1, s1²) and N(m2, s2²) is (m1 − m2)² + (s1 − s2)².
    a, b = rng.normal(1.0, 2.0, (200_000, 1)), rng.normal(-0.5, 0.5, (200_000, 1))
    assert frechet_distance(a, b) == pytest.approx(1.5 ** 2 + 1.5 ** 2, rel=0.01)
    # d dimensions, against scipy's matrix square root of the usual FID formula.
    a = rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6))
    b = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6)) + 1
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(ca + cb - 2 * scipy.linalg.sqrtm(ca @ cb).real)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-6)
    with pytest.raises(ValueError, match="same d"):
        frechet_distance(a, b[:, :5])


def test_precision_recall_on_clouds():
    torch.manual_seed(0)
    real = torch.randn(600, 4)
    assert precision_recall(real, torch.randn(600, 4)) > (0.85, 0.85)
    shifted = precision_recall(real, torch.randn(600, 4) + 6)           # disjoint: neither inside the other
    assert shifted == (0.0, 0.0)
    narrow = precision_recall(real, 0.2 * torch.randn(600, 4))           # good samples, little diversity
    assert narrow[0] > 0.95 and narrow[1] < 0.3
    with pytest.raises(ValueError, match="k must be"):
        precision_recall(real, real, k=0)


def test_class_coverage_of_balanced_and_collapsed_predictions():
    balanced = torch.eye(10).repeat(30, 1)
    result = class_coverage(balanced)
    assert result["covered"] == 10 and result["kl_uniform"] == pytest.approx(0, abs=1e-12)
    assert result["confidence"] == 1.0
    collapsed = class_coverage(torch.full((50, 10), 0.05).index_fill_(1, torch.tensor([3]), 0.55))
    assert collapsed["covered"] == 1 and collapsed["kl_uniform"] == pytest.approx(math.log(10))
    assert collapsed["confidence"] == pytest.approx(0.55)
    with pytest.raises(ValueError, match=r"\(n, 10\)"):
        class_coverage(torch.rand(5, 9))


@pytest.fixture(scope="module")
def digits():   # the classifier is cached in this module's own $COURSE_CACHE (tests/conftest.py)
    data = load_mnist()
    classifier = train_classifier(data.train_images, data.train_labels, epochs=4, progress=False)
    return data, classifier


def test_classifier_learns_the_digits_and_is_cached(digits):
    data, classifier = digits
    assert classifier_accuracy(classifier, data.test_images, data.test_labels) > 0.93
    again = train_classifier(data.train_images, data.train_labels, epochs=4, progress=False)   # from the cache
    assert all(torch.equal(p, q) for p, q in zip(classifier.state_dict().values(), again.state_dict().values()))


def test_a_corrupt_cache_is_retrained_to_the_same_weights_whatever_the_random_state(digits):
    import os
    from pathlib import Path

    data, classifier = digits
    cached = list(Path(os.environ["COURSE_CACHE"]).glob("digit_classifier-*.pt"))
    assert cached
    for path in cached:
        path.write_bytes(b"not a checkpoint")
    torch.manual_seed(123)                                   # another global state: must not matter
    state = torch.get_rng_state()
    with pytest.warns(UserWarning, match="retraining"):
        again = train_classifier(data.train_images, data.train_labels, epochs=4, progress=False)
    assert torch.equal(torch.get_rng_state(), state)         # the caller's random state is untouched
    assert all(torch.equal(p, q) for p, q in zip(classifier.state_dict().values(), again.state_dict().values()))


def test_real_digits_score_near_the_floor_and_a_collapsed_generator_does_not(digits):
    data, classifier = digits
    metrics = DigitMetrics(classifier, data.test_images[0::2])
    real = metrics.metrics(data.test_images[1::2])
    assert real["precision"] > 0.8 and real["recall"] > 0.8
    assert real["covered"] == 10 and real["kl_uniform"] < 0.05
    collapsed = metrics.metrics(data.test_images[1:2].repeat(500, 1, 1, 1))
    assert collapsed["recall"] < 0.05 and collapsed["covered"] == 1
    assert collapsed["kl_uniform"] == pytest.approx(math.log(10))
    noise = metrics.metrics(torch.rand(500, 1, 28, 28) * 2 - 1)
    # Real-vs-real is near 0 on the scale set by images that are not digits at all.
    assert real["frechet"] < 0.05 * min(collapsed["frechet"], noise["frechet"])
    assert noise["precision"] < 0.05


def test_an_evaluation_generates_once_and_returns_the_metrics_and_samples(digits):
    data, classifier = digits
    metrics = DigitMetrics(classifier, data.test_images[:200])
    calls = []

    class Repeat(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(()))

        def forward(self, z):
            calls.append(len(z))
            return (data.test_images[: len(z)] * self.scale).clamp(-1, 1)

    generator, evaluate = Repeat(), metrics.evaluation(latent_dim=3)
    values = evaluate(generator, None)
    assert calls == [200]                              # one generation for all the metrics
    assert set(values) == {*DigitMetrics.NAMES, "samples"}
    assert values["samples"].dtype == torch.uint8 and values["samples"].shape == (64, 28, 28)
    assert values["frechet"] == metrics.metrics(data.test_images[:200])["frechet"]
