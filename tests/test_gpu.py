"""A few iterations of each MNIST variant on CUDA: skipped on machines without a GPU."""

import pytest
import torch

from course_utils.mnist_data import load_mnist
from course_utils.profiles import get_profile
from course_utils.image_gans import ALGORITHMS, build_variant
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


def test_a_run_checkpointed_on_cuda_resumes_and_loads_exactly(tmp_path):
    # Writes, interrupts, resumes and reloads on the GPU: the random states in the checkpoint
    # must come back as CPU byte tensors, whatever device the models are on.
    from course_utils.gan_losses import WASSERSTEIN
    from course_utils.lipschitz import GradientPenalty
    from course_utils.models import critic_mlp, generator_mlp
    from course_utils.training import load_checkpoint

    device = torch.device("cuda")
    data = torch.randn(512, 2, generator=torch.Generator().manual_seed(0)).to(device) + 2

    def run(iterations, checkpoint=None, seed=0):
        torch.manual_seed(seed)
        generator, critic = generator_mlp(width=32, depth=2).to(device), critic_mlp(width=32, depth=2).to(device)
        history = train_gan(generator, critic, data, loss=WASSERSTEIN, constraint=GradientPenalty(10.0),
                            iterations=iterations, latent_dim=2, batch_size=32, checkpoint=checkpoint,
                            checkpoint_every=4, progress=False)
        return generator, history

    full_generator, full = run(10)
    path = tmp_path / "cuda.pt"
    run(4, checkpoint=path)
    resumed_generator, resumed = run(10, checkpoint=path, seed=123)   # other initial weights: all restored
    assert resumed["estimate"] == full["estimate"] and resumed["iteration"] == list(range(1, 11))
    assert all(torch.equal(a, b) for a, b in zip(full_generator.parameters(), resumed_generator.parameters()))
    assert load_checkpoint(path)["iteration"] == 10
