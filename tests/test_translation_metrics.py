"""Translation metrics: label preservation read by a judge, the cycle error, and the training-loop evaluation."""

import math

import pytest
import torch
from torch import nn

from course_utils.digit_domains import load_small_digits
from course_utils.image_metrics import DigitMetrics, train_classifier
from course_utils.translation_metrics import (Judges, cycle_error, label_preservation, translate,
                                              translation_evaluation)


@pytest.fixture(scope="module")
def split():
    return load_small_digits()


@pytest.fixture(scope="module")
def judge(split):
    """The 8×8 domain's judge, trained on its 1,197 training digits (10 epochs: ~97 % on them)."""
    return train_classifier(split.train_images, split.train_labels, epochs=10, cache=False, progress=False)


def affine(scale, shift):
    layer = nn.Conv2d(1, 1, 1)
    with torch.no_grad():
        layer.weight.fill_(scale)
        layer.bias.fill_(shift)
    return layer


# ---------------------------------------------------------------------------------------------
# translate and the cycle error
# ---------------------------------------------------------------------------------------------

def test_translate_is_the_model_in_chunks_without_gradients(split):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Tanh(), nn.Conv2d(2, 1, 1))
    images = split.test_images[:23]
    for batch_size in (7, 23, 500):
        out = translate(model, images, batch_size)
        assert not out.requires_grad
        torch.testing.assert_close(out, model(images).detach(), rtol=0, atol=1e-6)


def test_the_cycle_error_is_zero_for_inverse_maps(split):
    images = split.test_images                          # 600 images: two chunks of translate
    forward, backward = affine(2.0, 0.5), affine(0.5, -0.25)
    assert cycle_error(forward, backward, images) == pytest.approx(0.0, abs=1e-6)
    assert cycle_error(nn.Identity(), nn.Identity(), images) == 0.0
    negate = lambda x: -x                              # noqa: E731 (any callable will do)
    assert cycle_error(negate, negate, images) == 0.0


def test_the_cycle_error_is_the_mean_absolute_error_per_pixel(split):
    images = split.test_images
    forward, backward = affine(2.0, 0.5), affine(0.5, 0.0)   # F(G(x)) = x + 0.25 everywhere
    assert cycle_error(forward, backward, images) == pytest.approx(0.25, rel=1e-5)
    # A map that depends on the image: halve it and clamp the ink (by hand, pixel by pixel, in float64).
    squash = lambda x: (0.5 * x).clamp(max=0.1)        # noqa: E731
    round_trip = (0.5 * images.double()).clamp(max=0.1)
    by_hand = (round_trip - images.double()).abs().sum().item() / images.numel()
    assert cycle_error(squash, nn.Identity(), images) == pytest.approx(by_hand, rel=1e-5)
    # The order of the chunks matters: a map that shuffles the images does not close the cycle.
    flip = lambda x: x.flip(0)                          # noqa: E731
    assert cycle_error(flip, nn.Identity(), images) > 0.1


def test_bad_cycle_inputs(split):
    images = split.test_images[:4]
    with pytest.raises(ValueError, match="shape"):
        cycle_error(nn.Identity(), nn.Identity(), images.view(4, 784))
    with pytest.raises(ValueError, match=r"\[−1, 1\]"):
        cycle_error(nn.Identity(), nn.Identity(), (images + 1) * 127.5)
    with pytest.raises(ValueError, match="NaN"):
        cycle_error(nn.Identity(), nn.Identity(), images * float("nan"))


# ---------------------------------------------------------------------------------------------
# Label preservation
# ---------------------------------------------------------------------------------------------

def test_the_identity_keeps_the_labels(judge, split):
    result = label_preservation(judge, split.train_images, split.train_labels)
    with torch.no_grad():
        predicted = judge(split.train_images).argmax(1)
    assert torch.equal(result["predicted"], predicted)
    assert result["accuracy"] == pytest.approx((predicted == split.train_labels).double().mean().item(), abs=1e-6)
    assert result["accuracy"] >= 0.95
    held_out = label_preservation(judge, split.test_images, split.test_labels)
    assert held_out["accuracy"] >= 0.9


def test_a_map_that_ignores_its_input_scores_chance(judge, split):
    images, labels = split.train_images, split.train_labels
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(2))
    result = label_preservation(judge, images[order], labels)   # each digit becomes another, random one
    n = len(images)
    se = math.sqrt(0.1 * 0.9 / n)
    assert abs(result["accuracy"] - 0.1) < 4 * se, result["accuracy"]
    # Nothing depends on the judge's train/eval mode: label_preservation sets eval (dropout off).
    judge.train()
    again = label_preservation(judge, images[order], labels)
    assert not judge.training and again["accuracy"] == result["accuracy"]


def test_the_confusion_matrix_counts_source_and_read_labels(judge, split):
    images, labels = split.test_images, split.test_labels
    # A partly wrong map: the first half of the digits replaced by other ones.
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(3))
    mixed = torch.cat([images[order[:300]], images[300:]])
    result = label_preservation(judge, mixed, labels)
    confusion, predicted = result["confusion"], result["predicted"]
    assert confusion.shape == (10, 10) and not confusion.dtype.is_floating_point
    assert torch.equal(confusion.sum(1), torch.bincount(labels, minlength=10))
    assert torch.equal(confusion.sum(0), torch.bincount(predicted, minlength=10))
    assert confusion.trace().item() / len(labels) == pytest.approx(result["accuracy"], abs=1e-6)
    for source, read in ((0, 0), (3, 5), (8, 1)):
        assert confusion[source, read].item() == ((labels == source) & (predicted == read)).sum().item()
    # Labels of another integer type are read the same.
    assert torch.equal(label_preservation(judge, mixed, labels.int())["confusion"], confusion)


def test_bad_label_preservation_inputs(judge, split):
    images, labels = split.test_images[:20], split.test_labels[:20]
    for bad in (labels[:19], labels[None], labels.float(), labels.double(), labels > 4, labels.clone().fill_(10),
                torch.where(labels == labels[0], -1, labels), torch.cat([labels, labels])):
        with pytest.raises(ValueError, match="source_labels"):
            label_preservation(judge, images, bad)
    for bad, match in ((images.view(20, 784), "shape"), ((images + 1) * 127.5, r"\[−1, 1\]"),
                       ((images + 1) / 2, "background"), (images[:, :, :27], "shape"),
                       (images[:0], "shape")):
        with pytest.raises(ValueError, match=match):
            label_preservation(judge, bad, labels[:len(bad)])


# ---------------------------------------------------------------------------------------------
# The evaluation of train_cycle_gan
# ---------------------------------------------------------------------------------------------

def test_the_evaluation_of_a_translation_in_both_directions(judge, split):
    # Two "domains": two sets of held-out digits; G clips the ink at 0, F leaves its input alone.
    x = split._replace(test_images=split.test_images[:200], test_labels=split.test_labels[:200])
    y = split._replace(test_images=split.test_images[200:400], test_labels=split.test_labels[200:400])
    metrics = DigitMetrics(judge, split.test_images[400::2])
    evaluate = translation_evaluation(x, y, Judges(metrics, metrics))
    g, f = (lambda images: images.clamp(max=0.0)), nn.Identity()
    with torch.no_grad():
        values = evaluate(g, f, None, None)
    clipped_x, clipped_y = g(x.test_images), g(y.test_images)
    assert values["x_to_y_labels"] == pytest.approx(label_preservation(judge, clipped_x, x.test_labels)["accuracy"])
    assert values["y_to_x_labels"] == pytest.approx(label_preservation(judge, y.test_images, y.test_labels)["accuracy"])
    # F(G(x)) = G(x) and G(F(y)) = G(y): both cycle errors are what the clipping removed.
    assert values["x_to_y_cycle"] == pytest.approx((clipped_x - x.test_images).abs().mean().item(), rel=1e-6)
    assert values["y_to_x_cycle"] == pytest.approx((clipped_y - y.test_images).abs().mean().item(), rel=1e-6)
    assert values["x_to_y_cycle"] > 0.1
    assert values["x_to_y_frechet"] == pytest.approx(metrics.metrics(clipped_x)["frechet"])
    assert values["y_to_x_frechet"] == pytest.approx(metrics.metrics(y.test_images)["frechet"])
    for direction in ("x_to_y", "y_to_x"):
        assert 0 <= values[f"{direction}_precision"] <= 1 and 0 <= values[f"{direction}_recall"] <= 1
        assert f"{direction}_kl_uniform" not in values
    # Rows of 10: x, G(x), F(G(x)), y, F(y), G(F(y)), each the first held-out digit of each class.
    samples = values["samples"]
    assert samples.shape == (60, 28, 28) and samples.dtype == torch.uint8

    def first(domain):
        return torch.stack([domain.test_images[domain.test_labels == c][0] for c in range(10)])

    def as_uint8(images):
        return ((images[:, 0] + 1) * 127.5).round().to(torch.uint8)

    rows = [first(x), g(first(x)), g(first(x)), first(y), first(y), g(first(y))]
    for k, row in enumerate(rows):
        assert torch.equal(samples[10 * k: 10 * k + 10], as_uint8(row)), k
