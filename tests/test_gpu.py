"""A few iterations of each MNIST variant on CUDA: skipped on machines without a GPU."""

import pytest
import torch

from course_utils.mnist_data import load_mnist
from course_utils.profiles import get_profile
from course_utils.train import ALGORITHMS, build_variant
from course_utils.training import train_gan

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_each_variant_trains_on_cuda(algo):
    device = torch.device("cuda")
    data = load_mnist(device=device)
    gan = build_variant(algo, get_profile("gpu"), device)
    history = train_gan(gan.generator, gan.critic, data.train_images, loss=gan.loss, constraint=gan.constraint,
                        iterations=5, latent_dim=gan.latent_dim, n_critic=gan.n_critic, warmup=False,
                        generator_optimizer=gan.generator_optimizer, critic_optimizer=gan.critic_optimizer,
                        progress=False)
    assert history["iteration"] == [1, 2, 3, 4, 5] and history["device"] == torch.cuda.get_device_name(device)
    assert all(torch.isfinite(torch.tensor(history[key])).all() for key in ("critic_loss", "generator_loss"))
    assert next(gan.generator.parameters()).is_cuda
