"""The DCGAN-style generator and critic: shapes, ranges, normalisations, bad arguments."""

import pytest
import torch
from torch import nn

from course_utils.conv_models import dcgan_critic, dcgan_generator
from course_utils.lipschitz import GradientPenalty, SpectralNormalization


def test_generator_maps_codes_to_images_in_range():
    torch.manual_seed(0)
    generator = dcgan_generator(latent_dim=8, width=4)
    images = generator(torch.randn(5, 8))
    assert images.shape == (5, 1, 28, 28)
    assert images.min() >= -1 and images.max() <= 1
    assert not any(isinstance(m, nn.BatchNorm2d) for m in dcgan_generator(8, 4, batch_norm=False).modules())


@pytest.mark.parametrize("norm", [None, "layer", "batch", "spectral"])
def test_critic_scores_each_image(norm):
    torch.manual_seed(0)
    critic = dcgan_critic(width=4, norm=norm)
    scores = critic(torch.rand(6, 1, 28, 28) * 2 - 1)
    assert scores.shape == (6, 1)
    assert not isinstance(list(critic.modules())[-1], nn.Sigmoid)


def test_norms_are_what_the_constraints_expect():
    GradientPenalty().check(dcgan_critic(4, "layer"))
    with pytest.raises(ValueError, match="batch norm"):
        GradientPenalty().check(dcgan_critic(4, "batch"))
    SpectralNormalization().check(dcgan_critic(4, "spectral"))
    with pytest.raises(ValueError, match="not spectrally"):
        SpectralNormalization().check(dcgan_critic(4))


def test_layer_norm_critic_scores_do_not_depend_on_the_batch():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    for norm, independent in ((None, True), ("layer", True), ("batch", False)):
        critic = dcgan_critic(4, norm).train()
        alone = critic(x[:1])
        together = critic(x)[:1] if norm != "batch" else critic(x[:2])[:1]
        assert torch.allclose(alone, together, atol=1e-6) == independent, norm


def test_bad_arguments():
    with pytest.raises(ValueError, match="width"):
        dcgan_critic(0)
    with pytest.raises(ValueError, match="unknown norm"):
        dcgan_critic(4, "instance")
    with pytest.raises(ValueError, match="latent_dim"):
        dcgan_generator(latent_dim=2.5)
