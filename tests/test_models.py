import pytest
import torch
from torch import nn

from course_utils.models import critic_mlp, generator_mlp, mlp


def test_shapes_and_depth():
    critic = critic_mlp(in_features=2, width=16, depth=3)
    assert critic(torch.randn(5, 2)).shape == (5, 1)
    assert sum(isinstance(m, nn.Linear) for m in critic) == 4  # 3 hidden + output
    assert not any(isinstance(m, nn.Sigmoid) for m in critic)  # a critic is not a classifier
    gen = generator_mlp(latent_dim=3, out_features=2, width=8, depth=2)
    assert gen(torch.randn(4, 3)).shape == (4, 2)
    assert mlp(2, 1, width=8, depth=0)(torch.randn(3, 2)).shape == (3, 1)  # depth 0: linear


def test_norm_choices():
    assert any(isinstance(m, nn.LayerNorm) for m in critic_mlp(width=8, norm="layer"))
    assert any(isinstance(m, nn.BatchNorm1d) for m in critic_mlp(width=8, norm="batch"))
    spectral = critic_mlp(width=8, norm="spectral")
    assert all(nn.utils.parametrize.is_parametrized(m, "weight") for m in spectral if isinstance(m, nn.Linear))


def test_bad_inputs():
    with pytest.raises(ValueError, match="unknown norm 'instance'"):
        critic_mlp(norm="instance")
    with pytest.raises(ValueError, match="width must be a positive integer"):
        critic_mlp(width=0)
    with pytest.raises(ValueError, match="depth must be a non-negative integer"):
        critic_mlp(depth=-1)


def test_unknown_activation_is_refused():
    with pytest.raises(ValueError, match="unknown activation 'tanh'"):
        critic_mlp(activation="tanh")
