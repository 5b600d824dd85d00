"""Stacked MNIST: the stacking, the modes a classifier reads, the coverage and KL, and the metrics' ceiling."""

import math

import pytest
import torch
from torch import nn

from course_utils.colour_gans import colour_generator
from course_utils.stacked_mnist import (MODES, StackedMetrics, check_colour_images, load_stacked_mnist,
                                        mode_coverage, read_modes, stack_digits)

WEIGHTS = torch.tensor([100, 10, 1])


# ---------------------------------------------------------------------------------------------
# Stacking
# ---------------------------------------------------------------------------------------------

def _indexed_digits(n: int = 200):
    """``n`` blank "digits" whose pixel (0, 0) encodes their index, and balanced labels in a shuffled order."""
    images = torch.full((n, 1, 28, 28), -1.0)
    images[:, 0, 0, 0] = -1 + 2 * (torch.arange(n) + 1) / (n + 1)
    labels = (torch.arange(n) % 10)[torch.randperm(n, generator=torch.Generator().manual_seed(5))]
    return images, labels


def _source_index(stacked: torch.Tensor, n: int) -> torch.Tensor:
    """(m, 3): which of the ``n`` indexed digits each channel of ``stacked`` is."""
    return ((stacked[:, :, 0, 0] + 1) * (n + 1) / 2 - 1).round().long()


def test_each_channel_is_a_source_digit_and_the_mode_is_its_labels_in_rgb_order():
    images, labels = _indexed_digits()
    stacked, modes = stack_digits(images, labels, 3000, seed=3)
    assert stacked.shape == (3000, 3, 28, 28) and modes.shape == (3000,)
    index = _source_index(stacked, len(images))
    assert index.min() >= 0 and index.max() < len(images)
    assert torch.equal(stacked, images[index.flatten(), 0].view(3000, 3, 28, 28))   # whole digits, unchanged
    r, g, b = labels[index].unbind(1)
    assert torch.equal(modes, 100 * r + 10 * g + b)
    assert not modes.is_floating_point() and 0 <= modes.min() and modes.max() < MODES
    # The three channels are drawn independently, not one digit copied three times.
    assert (index[:, 0] == index[:, 1]).float().mean() < 0.02
    assert (index[:, 1] == index[:, 2]).float().mean() < 0.02


def test_the_modes_are_uniform_over_the_thousand_triples():
    images, labels = _indexed_digits()
    n = 20_000                                            # 20 per mode: P(some mode empty) ≈ 1000 e⁻²⁰
    _, modes = stack_digits(images, labels, n, seed=0)
    counts = torch.bincount(modes, minlength=MODES).double()
    assert len(counts) == MODES and (counts > 0).all()
    # Pearson's statistic, 999 degrees of freedom: mean 999, standard deviation √1998 ≈ 44.7.
    expected = n / MODES
    chi2 = ((counts - expected) ** 2 / expected).sum().item()
    assert abs(chi2 - 999) < 6 * math.sqrt(2 * 999)
    # Each digit position on its own is uniform over 0…9 too.
    for place in (100, 10, 1):
        shares = torch.bincount(modes // place % 10, minlength=10).double() / n
        assert (shares - 0.1).abs().max() < 0.01


def test_stacking_is_reproducible_from_the_seed():
    images, labels = _indexed_digits()
    a, modes_a = stack_digits(images, labels, 500, seed=7)
    b, modes_b = stack_digits(images, labels, 500, seed=7)
    c, modes_c = stack_digits(images, labels, 500, seed=8)
    assert torch.equal(a, b) and torch.equal(modes_a, modes_b)
    assert not torch.equal(a, c) and not torch.equal(modes_a, modes_c)


def test_stacking_refuses_bad_arguments():
    images, labels = _indexed_digits()
    for n in (0, -3, 2.5, True, "10"):
        with pytest.raises(ValueError, match="n must be"):
            stack_digits(images, labels, n)
    with pytest.raises(ValueError, match="labels must have shape"):
        stack_digits(images, labels[:-1], 10)
    with pytest.raises(ValueError, match="labels must have shape"):
        stack_digits(images, labels.view(-1, 1), 10)
    with pytest.raises(ValueError):
        stack_digits((images + 1) / 2, labels, 10)          # [0, 1] pixels are not digits in [−1, 1]


def _rows(images: torch.Tensor) -> dict:
    """{bytes of a digit: index} for images (n, 1, 28, 28)."""
    return {row.numpy().tobytes(): i for i, row in enumerate(images.reshape(len(images), -1))}


def test_the_splits_stack_their_own_digits_with_their_labels():
    data = load_stacked_mnist(n_train=1500, n_test=1000, seed=0)
    assert data.train_images.shape == (1500, 3, 28, 28) and data.test_images.shape == (1000, 3, 28, 28)
    assert data.train_modes.shape == (1500,) and data.test_modes.shape == (1000,)
    for images in (data.train_images, data.test_images):
        assert images.dtype == torch.float32 and images.min() == -1 and images.max() <= 1
    digits = data.digits
    train_rows, test_rows = _rows(digits.train_images), _rows(digits.test_images)
    for images, modes, own, own_labels, other in (
            (data.train_images, data.train_modes, train_rows, digits.train_labels, test_rows),
            (data.test_images, data.test_modes, test_rows, digits.test_labels, train_rows)):
        channels = images.reshape(-1, 28 * 28)
        found = [own.get(row.numpy().tobytes()) for row in channels]
        assert None not in found                                     # every channel is a digit of its split
        assert not any(row.numpy().tobytes() in other for row in channels)   # and of no other split
        read = own_labels[torch.tensor(found)].view(-1, 3)
        assert torch.equal(modes, read @ WEIGHTS)
    # Another seed, other images; and the test images are not the training ones under another name.
    again = load_stacked_mnist(n_train=10, n_test=10, seed=1)
    assert not torch.equal(again.train_images, data.train_images[:10])
    assert not torch.equal(data.test_images[:10], data.train_images[:10])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_stacking_and_reading_modes_on_the_gpu():
    data = load_stacked_mnist(n_train=100, n_test=100, device="cuda")
    assert data.test_images.device.type == "cuda" and data.test_modes.device.type == "cuda"
    modes = read_modes(BrightnessReader().cuda(), _coloured(torch.tensor([[1, 2, 3]])).cuda())
    assert modes.tolist() == [123]


# ---------------------------------------------------------------------------------------------
# Reading the modes: a stand-in classifier whose answer is a known function of the image
# ---------------------------------------------------------------------------------------------

class BrightnessReader(nn.Module):
    """A "digit classifier" that reads class d from a one-channel image of uniform brightness −0.9 + 0.2 d."""

    def __init__(self):
        super().__init__()
        self.register_buffer("centres", -0.9 + 0.2 * torch.arange(10.0))
        self.shapes = []

    def forward(self, images):
        self.shapes.append(tuple(images.shape))
        return -(images.mean(dim=(1, 2, 3))[:, None] - self.centres) ** 2


def _coloured(triples: torch.Tensor) -> torch.Tensor:
    """Images (n, 3, 28, 28) whose channels have the uniform brightness of the classes ``triples`` (n, 3)."""
    return (-0.9 + 0.2 * triples.float())[:, :, None, None].expand(-1, -1, 28, 28).contiguous()


def test_read_modes_reads_red_as_hundreds_green_as_tens_blue_as_units():
    triples = torch.randint(10, (2501, 3), generator=torch.Generator().manual_seed(0))
    images = _coloured(triples)
    reader = BrightnessReader()
    modes = read_modes(reader, images, batch_size=400)
    assert torch.equal(modes, 100 * triples[:, 0] + 10 * triples[:, 1] + triples[:, 2])
    assert {shape[1:] for shape in reader.shapes} == {(1, 28, 28)}            # one channel at a time
    assert max(shape[0] for shape in reader.shapes) <= 3 * 400 and len(reader.shapes) == 7
    # Swapping channels moves the digits between places: (b, g, r) reads 100 b + 10 g + r.
    swapped = read_modes(reader, images[:, [2, 1, 0]])
    assert torch.equal(swapped, 100 * triples[:, 2] + 10 * triples[:, 1] + triples[:, 0])
    assert read_modes(reader, _coloured(torch.tensor([[3, 0, 7], [0, 0, 0], [9, 9, 9]]))).tolist() == [307, 0, 999]


def test_read_modes_refuses_images_that_are_not_colour_digits():
    with pytest.raises(ValueError, match=r"\(n, 3, 28, 28\)"):
        read_modes(BrightnessReader(), torch.zeros(4, 1, 28, 28))
    with pytest.raises(ValueError, match=r"\[−1, 1\]"):
        read_modes(BrightnessReader(), torch.full((4, 3, 28, 28), 2.0))


# ---------------------------------------------------------------------------------------------
# Coverage and KL to uniform
# ---------------------------------------------------------------------------------------------

def test_coverage_of_one_mode_of_all_modes_and_of_two():
    stuck = mode_coverage(torch.full((300,), 417))
    assert stuck["modes"] == 1 and stuck["kl"] == pytest.approx(math.log(1000), abs=1e-12)
    balanced = mode_coverage(torch.arange(MODES).repeat(3)[torch.randperm(3 * MODES)])
    assert balanced["modes"] == 1000 and balanced["kl"] == pytest.approx(0, abs=1e-12)
    # One image in mode 5, three in mode 999: KL = log 1000 − H(1/4, 3/4).
    two = mode_coverage(torch.tensor([999, 5, 999, 999]))
    entropy = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert two["modes"] == 2 and two["kl"] == pytest.approx(math.log(1000) - entropy, abs=1e-12)
    # Half the modes, evenly: log 2.
    half = mode_coverage(torch.arange(0, MODES, 2).repeat(4))
    assert half["modes"] == 500 and half["kl"] == pytest.approx(math.log(2), abs=1e-12)
    assert isinstance(half["modes"], int) and isinstance(half["kl"], float)
    assert mode_coverage(torch.tensor([0, 999], dtype=torch.int32))["modes"] == 2


def test_coverage_refuses_what_is_not_a_list_of_modes():
    for bad in (torch.tensor([1.0, 2.0]), torch.tensor([3, -1]), torch.tensor([0, 1000]),
                torch.tensor([], dtype=torch.long), torch.zeros(2, 3, dtype=torch.long), torch.tensor(5)):
        with pytest.raises(ValueError, match="modes must"):
            mode_coverage(bad)


def test_kl_of_a_uniform_sample_has_the_plug_in_bias_of_the_docstring():
    # A perfectly balanced generator still scores KL ≈ 999 / (2N) with N images (module docstring).
    for n in (10_000, 20_000):
        values = [mode_coverage(torch.randint(MODES, (n,), generator=torch.Generator().manual_seed(seed)))["kl"]
                  for seed in range(5)]
        assert sum(values) / len(values) == pytest.approx(999 / (2 * n), rel=0.08)


def test_check_colour_images():
    good = torch.rand(4, 3, 28, 28) * 2 - 1
    assert check_colour_images(good) is good
    torch.manual_seed(0)
    with torch.no_grad():
        untrained = colour_generator(latent_dim=8, width=4).eval()(torch.randn(6, 8))
    assert untrained.min() > -0.5                     # no background of −1, and still accepted
    assert check_colour_images(untrained) is untrained
    for bad, match in ((torch.zeros(4, 1, 28, 28), "shape"), (torch.zeros(3, 28, 28), "shape"),
                       (torch.zeros(0, 3, 28, 28), "shape"), (torch.zeros(4, 3, 32, 32), "shape"),
                       (torch.zeros(4, 3, 28, 28, dtype=torch.long), "floating"),
                       (good.clone().index_fill_(0, torch.tensor([2]), float("nan")), "finite"),
                       (good.clone().index_fill_(0, torch.tensor([1]), float("inf")), "finite"),
                       (good * 1.01 + 0.02, r"\[−1, 1\]"), ((good + 1) * 127.5, r"\[−1, 1\]")):
        with pytest.raises(ValueError, match=match):
            check_colour_images(bad, "the samples")
    with pytest.raises(TypeError):
        check_colour_images(good.numpy())


# ---------------------------------------------------------------------------------------------
# The metrics, with the course's classifier (trained once for this module, in its own cache)
# ---------------------------------------------------------------------------------------------

SAMPLES = 2000


@pytest.fixture(scope="module")
def stacked():
    data = load_stacked_mnist(n_train=SAMPLES, n_test=SAMPLES, seed=0)
    return data, StackedMetrics(data, classifier_epochs=3, samples=SAMPLES, progress=False)


def test_the_ceiling_covers_about_as_many_modes_as_uniform_draws(stacked):
    data, metrics = stacked
    assert metrics.accuracy > 0.9
    # N uniform draws hit 1000 (1 − (1 − 1/1000)^N) distinct modes on average (865 for N = 2,000);
    # misread digits move some images to other modes, which changes that little.
    expected = MODES * (1 - (1 - 1 / MODES) ** SAMPLES)
    truth = mode_coverage(data.test_modes[:SAMPLES])
    assert abs(truth["modes"] - expected) < 30
    assert abs(metrics.ceiling["modes"] - expected) < 40
    assert 0 < metrics.ceiling["kl"] < 1.5 * 999 / (2 * SAMPLES)
    assert abs(metrics.ceiling["kl"] - truth["kl"]) < 0.1
    assert metrics.ceiling["precision"] > 0.8 and metrics.ceiling["recall"] > 0.8


def test_a_generator_stuck_on_one_image_covers_one_mode_and_recalls_nothing(stacked):
    data, metrics = stacked
    stuck = metrics.metrics(data.test_images[7:8].repeat(500, 1, 1, 1))
    assert stuck["modes"] == 1 and stuck["kl"] == pytest.approx(math.log(MODES), abs=1e-9)
    assert max(stuck["channels"]["recall"]) < 0.05 and stuck["recall"] < 0.05
    assert stuck["frechet"] > 20 * metrics.ceiling["frechet"]


def test_the_channel_metrics_are_per_channel_in_rgb_order(stacked):
    data, metrics = stacked
    images = data.test_images[:500].clone()
    images[:, 0] = data.test_images[3, 0]              # the red digit is always the same one
    values = metrics.metrics(images)
    assert values["modes"] <= 100 and len({m // 100 for m in read_modes(metrics.classifier, images).tolist()}) == 1
    recall, frechet = values["channels"]["recall"], values["channels"]["frechet"]
    assert recall[0] < 0.05 and min(recall[1:]) > 0.7
    assert frechet[0] > 20 * max(frechet[1:])
    assert values["recall"] == pytest.approx(sum(recall) / 3)
    assert values["frechet"] == pytest.approx(sum(frechet) / 3)


def test_the_evaluation_scores_fixed_codes_and_returns_colour_samples(stacked):
    data, metrics = stacked

    class Replay(nn.Module):
        """Plays back the held-out images in order, and records the codes it was given."""

        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.zeros(()))
            self.codes, self.offset = [], 0

        def forward(self, z):
            self.codes.append(z.clone())
            out = data.test_images[self.offset:self.offset + len(z)]
            self.offset += len(z)
            return out

    evaluate = metrics.evaluation(latent_dim=5, grid=9)
    first = Replay()
    values = evaluate(first, None)
    names = {f"{name}_{c}" for name in ("frechet", "precision", "recall") for c in "rgb"}
    assert set(values) == {*StackedMetrics.NAMES, *names, "samples"}
    # The held-out images themselves: the ceiling's modes and KL.
    assert values["modes"] == metrics.ceiling["modes"] and values["kl"] == pytest.approx(metrics.ceiling["kl"])
    assert values["recall_r"] > 0.7 and values["precision_g"] > 0.7
    assert values["frechet"] == pytest.approx((values["frechet_r"] + values["frechet_g"] + values["frechet_b"]) / 3)
    samples = values["samples"]
    assert samples.dtype == torch.uint8 and samples.shape == (9, 3, 28, 28)
    assert torch.equal(samples, ((data.test_images[:9] + 1) * 127.5).round().to(torch.uint8))
    codes = torch.cat(first.codes)
    assert codes.shape == (SAMPLES, 5) and max(len(c) for c in first.codes) <= 1000
    second = Replay()
    evaluate(second, None)                              # the same codes every time
    assert torch.equal(torch.cat(second.codes), codes)


def test_more_samples_than_held_out_images_is_refused(stacked):
    data, _ = stacked
    with pytest.raises(ValueError, match="samples"):
        StackedMetrics(data, samples=SAMPLES + 1, progress=False)
