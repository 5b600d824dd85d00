"""CelebA faces at 64×64 (opt-in) and the 64×64 DCGAN generator and critic.

CelebA (Liu et al., ICCV 2015) holds 202,599 face images of 10,177 celebrities;
its "aligned and cropped" images are 178 wide and 218 high. Its licence allows
non-commercial research only and forbids redistributing the images, so the
course never downloads or ships them: a user who has the files places them in
:func:`celeba_folder` (torchvision's layout), and :func:`celeba_available` says
whether a chapter can use them.

Preprocessing, as in most code of the WGAN-GP period (e.g. Tolstikhin et al.'s
Wasserstein auto-encoders, ICLR 2018): a centre crop of ``CROP`` × ``CROP`` =
140 × 140 pixels, the face without most of the background, resized with
antialiasing to ``size`` × ``size`` (64), then scaled like a ``tanh`` output::

    x = pixel / 127.5 − 1 ∈ [−1, 1]      (pixel ∈ {0, …, 255}, channels R, G, B)

:func:`load_celeba` decodes a split once into one tensor on the device, so
training draws batches by indexing, with no per-sample transform in the loop
(as :func:`course_utils.mnist_data.load_mnist` does for MNIST). The training
split is 162,770 images: 8.0 GB at 64×64 in float32 (162,770 × 3 × 64 × 64 × 4 bytes).

The networks are the 64×64 DCGAN of Radford et al. (ICLR 2016), as in
pytorch/examples' ``dcgan``. A convolution with kernel k, stride s and padding p
maps a side H to (H + 2p − k)/s + 1, its transpose maps H to (H − 1)s − 2p + k,
so (4, 2, 1) halves or doubles a side and (4, 1, 0) goes between 1 and 4::

    generator  z ∈ R^latent_dim → latent_dim×1×1 → ConvT(4, 1, 0) → 8w×4×4 → 4w×8×8
               → 2w×16×16 → w×32×32 → 3×64×64 → tanh     (ConvT(4, 2, 1); BN + ReLU between)
    critic     3×64×64 → Conv(4, 2, 1) → w×32×32 → 2w×16×16 → 4w×8×8 → 8w×4×4
               → Conv(4, 1, 0) → 1×1×1 → R                (LeakyReLU(0.2); no output activation)

``norm`` is the critic's normalisation after every convolution but the first and
the last: ``None``; ``"batch"`` (DCGAN's discriminator, which couples the
samples of a batch and so does not go with a gradient penalty); ``"layer"``
(``nn.GroupNorm(1, C)``, what Gulrajani et al., NeurIPS 2017, recommend with
the penalty). A convolution followed by batch norm has no bias (batch norm
subtracts it again), as in pytorch/examples.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from .gan_losses import NON_SATURATING, WASSERSTEIN
from .image_gans import ImageGAN
from .lipschitz import GradientPenalty
from .mnist_data import DATA_ENV, default_data_root
from .training import paper_optimizers, train_gan

__all__ = ["CELEBA_ALGORITHMS", "CELEBA_SIZE", "CRITIC_NORMS", "CROP", "SPLITS", "build_celeba_variant",
           "celeba_available", "celeba_critic", "celeba_folder", "celeba_generator", "load_celeba",
           "train_celeba"]

CELEBA_SIZE = 64
CROP = 140
SPLITS = ("train", "valid", "test", "all")
CRITIC_NORMS = (None, "batch", "layer")
CELEBA_ALGORITHMS = ("dcgan", "wgan-gp")
IMAGE_FOLDER = "img_align_celeba"
PARTITION_FILE = "list_eval_partition.txt"
ANNOTATION_FILES = ("list_eval_partition.txt", "identity_CelebA.txt", "list_attr_celeba.txt",
                    "list_bbox_celeba.txt", "list_landmarks_align_celeba.txt")
PROJECT_PAGE = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"


def _check_size(value, label: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{label} must be a positive integer, got {value!r}")


def celeba_folder(root: str | os.PathLike | None = None) -> Path:
    """The folder CelebA is read from: ``root/celeba`` (default root: ``$COURSE_DATA``, else ~/.cache/…)."""
    return Path(root if root is not None else default_data_root()) / "celeba"


def celeba_available(root: str | os.PathLike | None = None) -> bool:
    """Whether the image folder and the partition file are in :func:`celeba_folder` (no checksums)."""
    folder = celeba_folder(root)
    return (folder / IMAGE_FOLDER).is_dir() and (folder / PARTITION_FILE).is_file()


def _missing(folder: Path, download: bool, err: BaseException) -> FileNotFoundError:
    how = "downloaded" if download else "loaded (download=False)"
    return FileNotFoundError(
        f"CelebA is not in {folder}, or its files are incomplete or corrupt, and it could not be {how} "
        f"({type(err).__name__}: {err}). Put the aligned images in {folder / IMAGE_FOLDER}/ (000001.jpg, …: "
        f"unpack 'Align&Cropped Images', {IMAGE_FOLDER}.zip) and the annotation files "
        f"{', '.join(ANNOTATION_FILES[1:])} and the evaluation partition {PARTITION_FILE} in {folder}/, "
        f"all from the CelebA project page {PROJECT_PAGE} (torchvision checks the .txt files' MD5 sums). "
        "CelebA's licence allows non-commercial research only, and its images must not be redistributed. "
        f"Set {DATA_ENV} (or root=) to the folder that holds celeba/ to read them from elsewhere.")


def _rgb(image):
    return image.convert("RGB")   # a grayscale or CMYK JPEG would otherwise keep its own channels


def _transform(size: int):
    from torchvision import transforms

    # uint8 through the workers (4 times less than float); scaled on the device
    return transforms.Compose([_rgb, transforms.CenterCrop(CROP), transforms.Resize(size, antialias=True),
                               transforms.PILToTensor()])


def _stack_images(batch: list) -> torch.Tensor:
    return torch.stack([image for image, _ in batch])   # the targets are None (target_type=[])


def load_celeba(root: str | os.PathLike | None = None, *, split: str = "train", size: int = CELEBA_SIZE,
                limit: int | None = None, device: str | torch.device = "cpu", download: bool = False,
                progress: bool = True, workers: int | None = None) -> torch.Tensor:
    """CelebA's ``split`` (or its first ``limit`` images) as one float32 tensor (n, 3, size, size) in [−1, 1].

    Read by ``torchvision.datasets.CelebA`` from :func:`celeba_folder`, centre-cropped
    to ``CROP`` × ``CROP``, resized, decoded once by a DataLoader with ``workers``
    processes (default: up to 4, one core left free) and written into a tensor on
    ``device``. A ``limit`` above the split's size gives the whole split. Missing or
    corrupt files raise a ``FileNotFoundError`` that says what to put where.
    """
    from torch.utils.data import DataLoader, Subset
    from torchvision.datasets import CelebA
    from tqdm.auto import tqdm

    if split not in SPLITS:
        raise ValueError(f"unknown CelebA split {split!r}: choose one of {SPLITS}")
    _check_size(size, "size")
    if limit is not None:
        _check_size(limit, "limit")
    if workers is None:
        workers = min(4, (os.cpu_count() or 1) - 1)
    elif isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ValueError(f"workers must be a non-negative integer, got {workers!r}")
    root = Path(root) if root is not None else default_data_root()
    folder = celeba_folder(root)
    try:
        # RuntimeError: missing files, MD5 mismatch, no gdown; ValueError: unparsable .txt; OSError: download
        dataset = CelebA(str(root), split=split, target_type=[], transform=_transform(size),
                         download=download)
    except (RuntimeError, ValueError, OSError, ImportError) as err:
        raise _missing(folder, download, err) from err
    n = len(dataset) if limit is None else min(limit, len(dataset))
    loader = DataLoader(Subset(dataset, range(n)), batch_size=256, num_workers=workers,
                        collate_fn=_stack_images)
    images = torch.empty((n, 3, size, size), dtype=torch.float32, device=device)
    start = 0
    with tqdm(total=n, desc="decoding CelebA", unit="img", disable=not progress) as bar:
        try:
            for batch in loader:   # an image listed in the partition but absent or unreadable: OSError
                images[start:start + len(batch)] = batch.to(device).float() / 127.5 - 1
                start += len(batch)
                bar.update(len(batch))
        except OSError as err:
            raise _missing(folder, download, err) from err
    return images


class _Codes(nn.Module):
    """(n, latent_dim) → (n, latent_dim, 1, 1), the 1×1 image the first transposed convolution expands."""

    def __init__(self, latent_dim: int):
        super().__init__()
        self.latent_dim = latent_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.shape[-1] != self.latent_dim:
            raise ValueError(f"codes must have shape (n, {self.latent_dim}), got {tuple(z.shape)}")
        return z.reshape(-1, self.latent_dim, 1, 1)


def celeba_generator(latent_dim: int = 100, width: int = 64, batch_norm: bool = True) -> nn.Sequential:
    """z (n, latent_dim) ↦ images (n, 3, 64, 64) in [−1, 1]; ``width`` channels at 32×32 (DCGAN's ngf)."""
    _check_size(latent_dim, "latent_dim")
    _check_size(width, "width")
    channels = [latent_dim, 8 * width, 4 * width, 2 * width, width]
    layers: list[nn.Module] = [_Codes(latent_dim)]
    for i, (c_in, c_out) in enumerate(zip(channels, channels[1:])):
        stride, padding = (1, 0) if i == 0 else (2, 1)
        layers += [nn.ConvTranspose2d(c_in, c_out, 4, stride, padding, bias=not batch_norm),
                   nn.BatchNorm2d(c_out) if batch_norm else nn.Identity(), nn.ReLU()]
    return nn.Sequential(*layers, nn.ConvTranspose2d(width, 3, 4, 2, 1), nn.Tanh())


def celeba_critic(width: int = 64, norm: str | None = None) -> nn.Sequential:
    """images (n, 3, 64, 64) ↦ scores (n, 1), no output activation; see the module for ``norm``."""
    _check_size(width, "width")
    if norm not in CRITIC_NORMS:
        raise ValueError(f"unknown norm {norm!r}: choose one of {CRITIC_NORMS}")
    layers: list[nn.Module] = [nn.Conv2d(3, width, 4, 2, 1), nn.LeakyReLU(0.2)]
    for c_in in (width, 2 * width, 4 * width):
        c_out = 2 * c_in
        middle = {None: nn.Identity(), "batch": nn.BatchNorm2d(c_out), "layer": nn.GroupNorm(1, c_out)}[norm]
        layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=norm != "batch"), middle, nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers, nn.Conv2d(8 * width, 1, 4, 1, 0), nn.Flatten())


def build_celeba_variant(algo: str, *, latent_dim: int = 100, width: int = 64, device: str | torch.device = "cpu",
                         seed: int = 0) -> ImageGAN:
    """DCGAN or WGAN-GP at 64×64, with its authors' settings; initial weights from ``seed``.

    ``"dcgan"``: batch norm in both networks, the non-saturating loss, Adam 2e-4
    with β = (0.5, 0.999), one discriminator step per generator step (Radford et al.).
    ``"wgan-gp"``: layer norm in the critic, the Wasserstein loss with a gradient
    penalty of 10, Adam 1e-4 with β = (0.5, 0.9), five critic steps (Gulrajani et al.).
    """
    if algo not in CELEBA_ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r}: choose one of {CELEBA_ALGORITHMS}")
    torch.manual_seed(seed)
    generator = celeba_generator(latent_dim, width).to(device)
    critic = celeba_critic(width, "batch" if algo == "dcgan" else "layer").to(device)
    loss, constraint, n_critic = ((NON_SATURATING, None, 1) if algo == "dcgan"
                                  else (WASSERSTEIN, GradientPenalty(10.0), 5))
    generator_optimizer, critic_optimizer = paper_optimizers(loss, constraint, generator, critic)
    return ImageGAN(algo, generator, critic, loss, constraint, n_critic, generator_optimizer, critic_optimizer,
                     latent_dim)


def train_celeba(algo: str, images: torch.Tensor, *, iterations: int, checkpoint: str | os.PathLike | None = None,
                 evaluate_every: int = 1000, width: int = 64, seed: int = 0,
                 progress: bool = True) -> tuple[ImageGAN, dict]:
    """Train :func:`build_celeba_variant` on ``images`` (n, 3, 64, 64) with the one loop; return it and its history.

    Batch 64; 64 samples from fixed codes every ``evaluate_every`` iterations, as uint8
    ``history["metrics"]["samples"]``. With ``checkpoint``, an interrupted run resumes there.
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or tuple(images.shape[1:]) != (3, 64, 64):
        raise ValueError(f"images must be a tensor (n, 3, 64, 64), got {getattr(images, 'shape', images)!r}")
    gan = build_celeba_variant(algo, width=width, device=images.device, seed=seed)
    codes = torch.randn(64, gan.latent_dim, generator=torch.Generator().manual_seed(1234)).to(images.device)

    @torch.no_grad()
    def samples(generator, critic):
        return {"samples": ((generator(codes) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)}

    history = train_gan(gan.generator, gan.critic, images, loss=gan.loss, constraint=gan.constraint,
                        iterations=iterations, latent_dim=gan.latent_dim, batch_size=64, n_critic=gan.n_critic,
                        generator_optimizer=gan.generator_optimizer, critic_optimizer=gan.critic_optimizer,
                        seed=seed, evaluate=samples, evaluate_every=evaluate_every, checkpoint=checkpoint,
                        checkpoint_every=evaluate_every, progress=progress, desc=f"CelebA {algo}")
    return gan, history
