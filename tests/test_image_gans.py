"""The MNIST variants and the pre-training command: build, train, checkpoint, resume, load, refuse."""

import copy

import pytest
import torch

from course_utils.gan_losses import NON_SATURATING, WASSERSTEIN
from course_utils.lipschitz import GradientPenalty, MaxMin, SpectralNormalization, WeightClipping
from course_utils.profiles import get_profile
from course_utils.image_gans import ALGORITHMS, build_variant, checkpoint_path, main
from course_utils.toy_gans import TOY_VARIANTS, build_toy_variant
from course_utils.training import load_checkpoint

CI = get_profile("ci")


def test_variants_have_their_papers_settings():
    expected = {"dcgan": (NON_SATURATING, type(None), 1, torch.optim.Adam, 2e-4, (0.5, 0.999)),
                "wgan": (WASSERSTEIN, WeightClipping, 5, torch.optim.RMSprop, 5e-5, None),
                "wgan-gp": (WASSERSTEIN, GradientPenalty, 5, torch.optim.Adam, 1e-4, (0.5, 0.9)),
                "sn-wgan": (WASSERSTEIN, SpectralNormalization, 5, torch.optim.Adam, 1e-4, (0.5, 0.9))}
    gpu = get_profile("gpu")
    for algo, (loss, constraint, n_critic, optimizer, lr, betas) in expected.items():
        gan = build_variant(algo, gpu)
        assert gan.loss is loss and type(gan.constraint) is constraint and gan.n_critic == n_critic
        for opt in (gan.generator_optimizer, gan.critic_optimizer):
            assert type(opt) is optimizer and opt.defaults["lr"] == pytest.approx(lr)   # gpu: scale 1
            assert betas is None or opt.defaults["betas"] == betas
        if gan.constraint is not None:
            gan.constraint.check(gan.critic)   # e.g. no batch norm in the penalty critic
    assert build_variant("wgan", gpu).constraint.c == 0.01 and build_variant("wgan-gp", gpu).constraint.lam == 10
    assert build_variant("wgan-gp", CI).generator_optimizer.defaults["lr"] == pytest.approx(1e-4 * CI.mnist_lr_scale)
    with pytest.raises(ValueError, match="unknown algorithm"):
        build_variant("began", CI)


def test_only_the_spectrally_normalised_critics_use_maxmin():
    for algo in ALGORITHMS:
        critic = build_variant(algo, CI).critic
        assert any(isinstance(m, MaxMin) for m in critic.modules()) == (algo == "sn-wgan"), algo
    for variant in TOY_VARIANTS:
        critic = build_toy_variant(variant, width=16).critic
        assert any(isinstance(m, MaxMin) for m in critic.modules()) == (variant == "sn-wgan"), variant


def test_variants_store_convolutions_channels_last_with_the_same_values():
    gan = build_variant("wgan-gp", CI)
    convolutions = [m for m in [*gan.generator.modules(), *gan.critic.modules()]
                    if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert len(convolutions) == 4
    assert all(m.weight.is_contiguous(memory_format=torch.channels_last) for m in convolutions)
    # (with one channel the two layouts coincide; with more, the default one no longer holds)
    assert all(not m.weight.is_contiguous() for m in convolutions if m.weight.shape[1] > 1)
    generator, critic = gan.generator.eval(), gan.critic
    plain_generator = copy.deepcopy(generator).to(memory_format=torch.contiguous_format)
    plain_critic = copy.deepcopy(critic).to(memory_format=torch.contiguous_format)
    assert plain_critic[2].weight.is_contiguous() and plain_critic[2].weight.shape[1] > 1
    z = torch.randn(16, gan.latent_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        images = generator(z)
        # the activations follow the weights' layout (what the chapter says)
        assert generator[:6](z).is_contiguous(memory_format=torch.channels_last)   # (16, 16, 14, 14)
        assert critic[:2](images).is_contiguous(memory_format=torch.channels_last)
        assert not plain_critic[:2](images).is_contiguous(memory_format=torch.channels_last)
        assert torch.allclose(images, plain_generator(z), atol=1e-5)
        assert torch.allclose(critic(images), plain_critic(images), atol=1e-5)


def test_command_trains_resumes_and_finds_a_finished_run(tmp_path, capsys):
    out = tmp_path / "checkpoints"
    assert main(["--algo", "wgan-gp", "--profile", "ci", "--out", str(out), "--iterations", "3"]) == 0
    first = capsys.readouterr().out
    assert "profile ci" in first and "wgan-gp: trained, 3 iterations" in first
    path = checkpoint_path(out, "wgan-gp", CI)
    saved = load_checkpoint(path)
    assert saved["iteration"] == 3 and saved["history"]["metrics"]["iteration"] == [0, 3]
    assert saved["history"]["metrics"]["samples"][-1].shape == (64, 28, 28)
    # Again: nothing to do. Asked for more: it continues from iteration 3.
    assert main(["--algo", "wgan-gp", "--profile", "ci", "--out", str(out), "--iterations", "3"]) == 0
    assert "wgan-gp: already complete, 3 iterations" in capsys.readouterr().out
    assert main(["--algo", "wgan-gp", "--profile", "ci", "--out", str(out), "--iterations", "5"]) == 0
    assert "wgan-gp: trained, 5 iterations" in capsys.readouterr().out
    resumed = load_checkpoint(path)["history"]
    assert resumed["iteration"] == [1, 2, 3, 4, 5] and resumed["critic_loss"][:3] == saved["history"]["critic_loss"]


def test_command_refuses_bad_input_clearly(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["--algo", "wgan-gp", "--profile", "laptop", "--out", str(tmp_path)])
    assert info.value.code == 2 and "unknown profile 'laptop'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["--algo", "wgan-gp", "--profile", "ci", "--source", "full", "--data-root", str(tmp_path / "none"),
              "--out", str(tmp_path)])
    assert info.value.code == 2 and "t10k-images-idx3-ubyte" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--algo", "gan9000", "--out", str(tmp_path)])
    assert ALGORITHMS == ("dcgan", "wgan", "wgan-gp", "sn-wgan")
