"""The 8×8 digit domain: the split of scikit-learn's digits, the lossless embedding at 28×28, the input check."""

from collections import Counter

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from course_utils.digit_domains import (block_residual, check_small_digits, embed_small_digits, load_small_digits,
                                        shrink_to_8x8)
from course_utils.mnist_data import check_images, load_mnist


@pytest.fixture(scope="module")
def raw():
    """scikit-learn's digits as they ship: 1,797 images (8, 8) with values 0…16, and their labels."""
    digits = load_digits()
    return digits.images, digits.target


@pytest.fixture(scope="module")
def split():
    return load_small_digits()


def keyed(images, labels):
    """A multiset of (label, image bytes): a digit's identity, whatever the order."""
    return Counter((int(label), bytes(image.numpy().astype(np.float32))) for image, label in zip(images, labels))


# ---------------------------------------------------------------------------------------------
# The split
# ---------------------------------------------------------------------------------------------

def test_the_split_is_a_balanced_partition_of_scikit_learn_s_digits(split, raw):
    images, labels = raw
    assert split.source == "sklearn-8x8"
    assert split.train_images.shape == (len(images) - 600, 1, 28, 28) and split.test_images.shape == (600, 1, 28, 28)
    assert split.train_labels.dtype == split.test_labels.dtype == torch.int64
    assert torch.bincount(split.test_labels, minlength=10).tolist() == [60] * 10
    assert torch.bincount(split.train_labels, minlength=10).tolist() == (np.bincount(labels) - 60).tolist()
    # Each of scikit-learn's digits, with its label, is in exactly one of the two sets (a multiset
    # equality: it holds even if the data had duplicate images); and no image is in both.
    everything = keyed(embed_small_digits(images), labels)
    train = keyed(split.train_images, split.train_labels)
    test = keyed(split.test_images, split.test_labels)
    assert train + test == everything
    assert not {key[1] for key in train} & {key[1] for key in test}
    # Shuffled: any prefix mixes the classes.
    assert len(set(split.train_labels[:100].tolist())) == 10 and len(set(split.test_labels[:100].tolist())) == 10


def test_split_images_are_valid_digits_in_minus_one_to_one(split):
    for images in (split.train_images, split.test_images):
        assert images.dtype == torch.float32
        assert check_images(images) is images
        assert images.min().item() == -1.0 and images.max().item() == 1.0
        # The 2-pixel border is background.
        border = torch.ones(28, 28, dtype=torch.bool)
        border[2:-2, 2:-2] = False
        assert (images[:, 0, border] == -1).all()
        # 17 grey levels: k/8 − 1 for k = 0…16.
        assert set(((images + 1) * 8).unique().tolist()) <= set(range(17))


def test_same_seed_same_split_and_other_sizes(split):
    again = load_small_digits(seed=0)
    assert torch.equal(again.train_images, split.train_images) and torch.equal(again.test_labels, split.test_labels)
    other = load_small_digits(seed=1)
    assert not torch.equal(other.test_images, split.test_images)
    assert keyed(other.test_images, other.test_labels) != keyed(split.test_images, split.test_labels)
    small = load_small_digits(held_out=10)
    assert torch.bincount(small.test_labels, minlength=10).tolist() == [1] * 10 and len(small.train_images) == 1787


def test_bad_held_out_is_refused(raw):
    rarest = int(np.bincount(raw[1]).min())
    for bad in (0, -10, 15, 5, 10.0, True, "600", 10 * rarest, 10 * rarest + 10):
        with pytest.raises(ValueError, match="held_out"):
            load_small_digits(held_out=bad)
    # The largest allowed leaves one digit of the rarest class for training.
    largest = load_small_digits(held_out=10 * (rarest - 1))
    assert torch.bincount(largest.train_labels, minlength=10).min().item() == 1


# ---------------------------------------------------------------------------------------------
# Embedding and shrinking
# ---------------------------------------------------------------------------------------------

def test_embedding_is_three_by_three_blocks_in_a_border(raw):
    images = raw[0][:5]
    embedded = embed_small_digits(images)
    assert embedded.shape == (5, 1, 28, 28) and embedded.dtype == torch.float32
    scaled = images / 8 - 1
    for n in range(5):
        for row in range(28):
            for col in range(28):
                inside = 2 <= row < 26 and 2 <= col < 26
                expected = scaled[n, (row - 2) // 3, (col - 2) // 3] if inside else -1.0
                assert embedded[n, 0, row, col].item() == expected, (n, row, col)


def test_shrinking_recovers_the_8x8_digits_exactly(raw):
    images = raw[0]
    shrunk = shrink_to_8x8(embed_small_digits(images))
    assert shrunk.shape == (len(images), 1, 8, 8)
    assert torch.equal(shrunk[:, 0], torch.as_tensor(images / 8 - 1, dtype=torch.float32))


def test_shrinking_takes_block_means():
    images = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    shrunk = shrink_to_8x8(images)
    for i, j in ((0, 0), (3, 5), (7, 7)):
        block = images[:, 0, 2 + 3 * i: 5 + 3 * i, 2 + 3 * j: 5 + 3 * j]
        torch.testing.assert_close(shrunk[:, 0, i, j], block.mean((1, 2)), rtol=0, atol=1e-6)
    for bad in (images[:, 0], images.view(3, 1, 784), images[..., :27], images.expand(3, 2, 28, 28)):
        with pytest.raises(ValueError, match=r"\(n, 1, 28, 28\)"):
            shrink_to_8x8(bad)


def test_block_residual_is_zero_on_embedded_digits_and_positive_on_mnist(split):
    assert torch.equal(block_residual(split.test_images), torch.zeros(len(split.test_images)))
    mnist = load_mnist().test_images[:200]
    residual = block_residual(mnist)
    assert residual.shape == (200,) and (residual > 0).all()


def test_block_residual_by_hand(split):
    # Moving ink inside one 3×3 block keeps the block's mean: the residual is what moved, 2δ/784.
    delta = 0.25
    moved = split.test_images[:2].clone()
    moved[0, 0, 2 + 3 * 4, 2 + 3 * 3] += delta
    moved[0, 0, 4 + 3 * 4, 3 + 3 * 3] -= delta
    # Ink in the border: its distance to the background (−1), over 784 pixels.
    moved[1, 0, 0, 5] = 0.5
    torch.testing.assert_close(block_residual(moved), torch.tensor([2 * delta / 784, 1.5 / 784]),
                               rtol=1e-5, atol=0)
    # Inside one block, each pixel's distance to the block mean.
    noise = torch.rand(1, 1, 3, 3, generator=torch.Generator().manual_seed(1))
    noisy = split.test_images[:1].clone()
    noisy[..., 8:11, 20:23] += noise
    expected = (noise - noise.mean()).abs().sum() / 784
    torch.testing.assert_close(block_residual(noisy), expected.view(1), rtol=1e-5, atol=0)


# ---------------------------------------------------------------------------------------------
# The input check
# ---------------------------------------------------------------------------------------------

def test_check_small_digits_accepts_both_layouts(raw):
    images = raw[0][:4]
    checked = check_small_digits(images)
    assert checked.dtype == np.float32 and checked.shape == (4, 8, 8)
    assert np.array_equal(checked, images)
    flat = check_small_digits(images.reshape(4, 64))
    assert np.array_equal(flat, checked)
    assert torch.equal(embed_small_digits(images.reshape(4, 64)), embed_small_digits(images))
    assert np.array_equal(check_small_digits(images.astype(np.uint8)), checked)


def test_check_small_digits_refuses_the_usual_slips(raw):
    images = raw[0][:4].copy()
    for bad in (images[0], images.reshape(4, 8, 8, 1), images.reshape(2, 128), images[:, :7], images[:0],
                np.zeros((4, 28, 28))):
        with pytest.raises(ValueError, match=r"\(n, 8, 8\)"):
            check_small_digits(bad)
    above = images.copy()
    above[1, 3, 3] = 17
    below = images.copy()
    below[2, 0, 0] = -0.5
    for bad in (above, below, images * 16, images / 8 - 1):
        with pytest.raises(ValueError, match="0…16"):
            check_small_digits(bad)
    for bad in (images / 16, (images > 8).astype(np.float64)):   # scaled to [0, 1]
        with pytest.raises(ValueError, match="look scaled"):
            check_small_digits(bad)
    with pytest.raises(ValueError, match="finite numbers"):
        check_small_digits(images.astype(str))
    broken = images.copy()
    broken[0, 4, 4] = np.nan
    with pytest.raises(ValueError, match="finite"):
        check_small_digits(broken)
    with pytest.raises(ValueError, match="finite"):
        check_small_digits(np.where(images > 8, np.inf, images))
    with pytest.raises(ValueError, match="8×8 digits"):
        embed_small_digits(images / 16)
