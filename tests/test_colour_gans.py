"""The 3-channel DCGAN-style networks and each variant's loss, constraint and optimiser."""

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from course_utils.colour_gans import ALGORITHMS, build_colour_variant, colour_critic, colour_generator
from course_utils.gan_losses import NON_SATURATING, WASSERSTEIN
from course_utils.lipschitz import GradientPenalty, MaxMin, SpectralNormalization, WeightClipping
from course_utils.stacked_mnist import load_stacked_mnist
from course_utils.training import train_gan

WEIGHT_LAYERS = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_generator_makes_colour_images_in_range():
    torch.manual_seed(0)
    generator = colour_generator(latent_dim=8, width=4)
    images = generator(torch.randn(5, 8) * 3)
    assert images.shape == (5, 3, 28, 28)
    assert images.min() >= -1 and images.max() <= 1
    assert not torch.allclose(images[:, 0], images[:, 1])          # three channels, not one copied
    # Linear → 2w·7·7 (+ batch norm), ConvT 2w → w (+ batch norm), ConvT w → 3.
    w, latent = 4, 8
    assert _count(generator) == (latent + 1) * 98 * w + 2 * 98 * w + (2 * w * w * 16 + w) + 2 * w + (w * 3 * 16 + 3)


@pytest.mark.parametrize("norm", [None, "layer", "batch", "spectral"])
def test_critic_scores_colour_images_and_refuses_grey_ones(norm):
    torch.manual_seed(0)
    critic = colour_critic(width=4, norm=norm)
    scores = critic(torch.rand(6, 3, 28, 28) * 2 - 1)
    assert scores.shape == (6, 1)
    assert critic[0].in_channels == 3
    with pytest.raises(RuntimeError):
        critic(torch.rand(6, 1, 28, 28) * 2 - 1)


def test_critic_reads_every_channel():
    torch.manual_seed(0)
    critic = colour_critic(width=4).eval()
    x = torch.rand(2, 3, 28, 28) * 2 - 1
    for c in range(3):
        y = x.clone()
        y[:, c] = -y[:, c]
        assert not torch.allclose(critic(x), critic(y))


def test_a_spectral_critic_normalises_every_weight_layer_the_colour_one_included():
    critic = colour_critic(width=4, norm="spectral", activation="maxmin")
    layers = [m for m in critic.modules() if isinstance(m, WEIGHT_LAYERS)]
    assert len(layers) == 3 and layers[0].in_channels == 3
    assert all(parametrize.is_parametrized(layer, "weight") for layer in layers)
    SpectralNormalization().check(critic)
    assert any(isinstance(m, MaxMin) for m in critic) and not any(isinstance(m, nn.LeakyReLU) for m in critic)
    # The first convolution's effective weight has largest singular value ≈ 1 after some power iterations.
    critic.train()
    with torch.no_grad():
        for _ in range(30):
            critic(torch.zeros(1, 3, 28, 28))
        sigma = torch.linalg.matrix_norm(layers[0].weight.reshape(4, -1), ord=2).item()
    assert sigma == pytest.approx(1, abs=0.05)


# loss, constraint (type and its setting), n_critic, optimiser, learning rate, betas: image_gans.py's table
TABLE = {
    "dcgan": (NON_SATURATING, type(None), None, 1, torch.optim.Adam, 2e-4, (0.5, 0.999)),
    "wgan": (WASSERSTEIN, WeightClipping, ("c", 0.01), 5, torch.optim.RMSprop, 5e-5, None),
    "wgan-gp": (WASSERSTEIN, GradientPenalty, ("lam", 10.0), 5, torch.optim.Adam, 1e-4, (0.5, 0.9)),
    "sn-wgan": (WASSERSTEIN, SpectralNormalization, None, 5, torch.optim.Adam, 1e-4, (0.5, 0.9)),
}


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_each_variant_has_its_authors_loss_constraint_and_optimiser(algo):
    loss, constraint, setting, n_critic, optimizer, lr, betas = TABLE[algo]
    gan = build_colour_variant(algo, width=4, critic_width=4, latent_dim=8, lr_scale=3.0)
    assert gan.algo == algo and gan.latent_dim == 8
    assert gan.loss is loss and type(gan.constraint) is constraint and gan.n_critic == n_critic
    if setting is not None:
        assert getattr(gan.constraint, setting[0]) == setting[1]
    for opt, model in ((gan.generator_optimizer, gan.generator), (gan.critic_optimizer, gan.critic)):
        assert type(opt) is optimizer
        assert opt.param_groups[0]["lr"] == pytest.approx(3 * lr, rel=1e-12)
        if betas is not None:
            assert opt.param_groups[0]["betas"] == betas
        assert {id(p) for group in opt.param_groups for p in group["params"]} == {id(p) for p in model.parameters()}
    if gan.constraint is not None:
        gan.constraint.check(gan.critic)
    layers = [m for m in gan.critic.modules() if isinstance(m, WEIGHT_LAYERS)]
    assert layers[0].in_channels == 3 and gan.generator(torch.randn(2, 8)).shape == (2, 3, 28, 28)
    normalised = [parametrize.is_parametrized(layer, "weight") for layer in layers]
    assert normalised == [algo == "sn-wgan"] * len(layers)
    assert any(isinstance(m, nn.BatchNorm2d) for m in gan.critic.modules()) == (algo == "dcgan")
    activations = {type(m) for m in gan.critic.modules() if isinstance(m, (MaxMin, nn.LeakyReLU))}
    assert activations == ({MaxMin} if algo == "sn-wgan" else {nn.LeakyReLU})


def test_initial_weights_come_from_the_seed():
    def weights(gan):
        return [t.clone() for model in (gan.generator, gan.critic) for t in model.state_dict().values()]

    a = weights(build_colour_variant("wgan-gp", width=4, critic_width=4, seed=3))
    torch.manual_seed(999)                                      # the global state does not matter
    b = weights(build_colour_variant("wgan-gp", width=4, critic_width=4, seed=3))
    c = weights(build_colour_variant("wgan-gp", width=4, critic_width=4, seed=4))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not all(torch.equal(x, y) for x, y in zip(a, c) if x.is_floating_point() and x.numel() > 1)


def test_the_generator_and_critic_widths_are_set_apart():
    small = build_colour_variant("wgan", width=8, critic_width=4, latent_dim=8)
    large = build_colour_variant("wgan", width=8, critic_width=16, latent_dim=8)
    assert _count(small.generator) == _count(large.generator) == _count(colour_generator(8, 8))

    def critic_count(w):   # Conv 3 → w, Conv w → 2w, Linear 2w·7·7 → 1
        return (3 * w * 16 + w) + (w * 2 * w * 16 + 2 * w) + (2 * w * 49 + 1)

    assert _count(small.critic) == critic_count(4) and _count(large.critic) == critic_count(16)
    wide_generator = build_colour_variant("wgan", width=16, critic_width=4, latent_dim=8)
    assert _count(wide_generator.critic) == critic_count(4) and _count(wide_generator.generator) > _count(
        small.generator)


def test_unknown_algorithm():
    with pytest.raises(ValueError, match="unknown algorithm"):
        build_colour_variant("wgan-lp")


@pytest.fixture(scope="module")
def stacked_images():
    return load_stacked_mnist(n_train=64, n_test=10, seed=0).train_images


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_each_variant_trains_a_few_iterations_on_stacked_mnist(algo, stacked_images):
    gan = build_colour_variant(algo, width=4, critic_width=4, latent_dim=8)
    before = {name: [t.detach().clone() for t in model.parameters()]
              for name, model in (("generator", gan.generator), ("critic", gan.critic))}
    history = train_gan(gan.generator, gan.critic, stacked_images, loss=gan.loss, constraint=gan.constraint,
                        iterations=3, latent_dim=gan.latent_dim, batch_size=16, n_critic=gan.n_critic,
                        generator_optimizer=gan.generator_optimizer, critic_optimizer=gan.critic_optimizer,
                        seed=0, log_every=1, progress=False)
    assert history["iteration"][-1] == 3
    for name, model in (("generator", gan.generator), ("critic", gan.critic)):
        after = list(model.parameters())
        assert any(not torch.equal(x, y) for x, y in zip(before[name], after)), name
    if algo == "wgan":   # the clipped critic stays in [−c, c]
        assert max(p.abs().max().item() for p in gan.critic.parameters()) <= 0.01 + 1e-9
