"""The digit grids of the image chapters: both storage forms give the same picture."""

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from course_utils.digit_grids import digit_grid, show_digits  # noqa: E402


def test_uint8_and_float_digits_give_the_same_grid():
    stream = torch.Generator().manual_seed(0)
    pixels = torch.randint(0, 256, (40, 28, 28), generator=stream, dtype=torch.uint8)
    as_float = pixels.float() / 127.5 - 1            # the same digits in [-1, 1]
    grid = digit_grid(pixels, nrow=6)
    assert grid.shape == (6 * 29 + 1, 6 * 29 + 1)    # 28 pixels and a 1-pixel gap each
    grid = torch.from_numpy(grid)
    torch.testing.assert_close(grid, torch.from_numpy(digit_grid(as_float[:, None], nrow=6)),
                               atol=1e-6, rtol=0)
    # the first digit, where make_grid puts it, scaled to [0, 1]
    torch.testing.assert_close(grid[1:29, 1:29], pixels[0].float() / 255, atol=1e-6, rtol=0)
    assert grid.min() >= 0 and grid.max() <= 1


def test_show_digits_draws_the_grid_and_the_title():
    images = torch.rand(64, 28, 28) * 2 - 1
    fig, ax = plt.subplots()
    artist = show_digits(ax, images, "samples")
    assert ax.get_title() == "samples" and not ax.get_xticks().size
    assert (artist.get_array().data == digit_grid(images)).all()
    plt.close(fig)


@pytest.mark.parametrize("shape", [(0, 28, 28), (4, 14, 14), (4, 784)])
def test_anything_but_a_batch_of_28_by_28_digits_is_refused(shape):
    with pytest.raises(ValueError, match="28×28"):
        digit_grid(torch.zeros(shape))
