"""Helpers for the course *Wasserstein GANs, from a toy example to the GPU*.

One module per idea; chapters import what they need:

* :mod:`course_utils.profiles`       profiles (ci, cpu, gpu), device, seeding
* :mod:`course_utils.distances`      TV, KL, JS and W1: definitions, estimators, closed forms
* :mod:`course_utils.parallel_lines` the toy P0 = (0, Z) against Pθ = (θ, Z)
* :mod:`course_utils.sliders`        sliders that work live in Jupyter and in the static book
* :mod:`course_utils.figures`        the book's figure style: column width, fonts, resolution
* :mod:`course_utils.tables`         results as rendered (Markdown) tables
* :mod:`course_utils.optimal_transport` exact W_p (POT) and the dual linear program of W1
* :mod:`course_utils.toy_data`       8 Gaussians, 25 Gaussians and the Swiss roll
* :mod:`course_utils.models`         critic and generator MLPs
* :mod:`course_utils.lipschitz`      clip_weights, gradient_penalty, spectral_normalize, Lipschitz estimates, operator_norm
* :mod:`course_utils.critic_fit`     fit_critic: the loop's critic step alone, against two fixed distributions
* :mod:`course_utils.critic_explorer` the figure behind the clip-value and λ sliders
* :mod:`course_utils.gan_losses`     the loss pairs of GAN (minimax, non-saturating) and WGAN
* :mod:`course_utils.training`       train_gan, one loop for every variant, and its steps (critic_step, generator_step, …)
* :mod:`course_utils.mnist_data`     MNIST as tensors in [−1, 1]: the embedded 5,000 digits or the full 70,000
* :mod:`course_utils.conv_models`    DCGAN-style convolutional generator and critic for 28×28 images
* :mod:`course_utils.image_metrics`  our digit classifier's features: Fréchet distance, precision/recall, coverage
* :mod:`course_utils.dot`            Discriminator Optimal Transport: target- and latent-space DOT, K_eff
* :mod:`course_utils.image_gans`     the MNIST variants, and ``python -m course_utils.image_gans`` to pre-train them
* :mod:`course_utils.toy_gans`       the 2-D variants and what a run on a toy measures
* :mod:`course_utils.digit_domains`  scikit-learn's 8×8 digits embedded at 28×28: CycleGAN's second domain
* :mod:`course_utils.cycle_gan`      CycleGAN: residual generator, patch critic, image pool, losses, train_cycle_gan
* :mod:`course_utils.translation_metrics` label preservation, cycle error, the judges of a translation
* :mod:`course_utils.stacked_mnist`  Stacked MNIST's 1,000 modes: modes covered and KL to uniform, read by the digit classifier
* :mod:`course_utils.colour_gans`    the MNIST networks widened to 3 channels, and the variants built with them
* :mod:`course_utils.celeba`         CelebA at 64×64 (opt-in, files placed by the user) and the 64×64 DCGAN networks
* :mod:`course_utils.reference_runs` the trained runs the book shows, and ``python -m course_utils.reference_runs``
* :mod:`course_utils.provenance`     digests that tie saved outputs and reference runs to the code that made them
"""

from .profiles import get_device, get_profile, seed_everything, start_chapter

__all__ = ["get_device", "get_profile", "seed_everything", "start_chapter"]
__version__ = "0.1.0"
