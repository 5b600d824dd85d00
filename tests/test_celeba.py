"""CelebA at 64×64 from a fake folder in its layout (crop, channels, splits, errors); the DCGAN networks."""

import os

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from course_utils.celeba import (CROP, build_celeba_variant, celeba_available, celeba_critic, celeba_folder,
                                 celeba_generator, load_celeba, train_celeba)

WIDTH, HEIGHT = 178, 218                      # CelebA's aligned images
TOP, LEFT = (HEIGHT - CROP) // 2, (WIDTH - CROP) // 2
CENTRE, OUTSIDE, FRAME = (40, 200, 80), (230, 40, 170), (30, 60, 220)
PARTITION = {"000001.jpg": 0, "000002.jpg": 0, "000003.jpg": 0, "000004.jpg": 0,
             "000005.jpg": 1, "000006.jpg": 1, "000007.jpg": 2, "000008.jpg": 2}
# torchvision cannot select a split of exactly one image (it iterates over a 0-d tensor), so 2 per split
ATTRIBUTES = ("5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose "
              "Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee "
              "Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard "
              "Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair "
              "Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace Wearing_Necktie "
              "Young")
LANDMARKS = ("lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x "
             "rightmouth_y")
TOLERANCE = 0.1   # in [−1, 1] units (13 grey levels): JPEG's ringing near the colour edges


def _pixels(index: int, rng) -> np.ndarray:
    image = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    if index == 1:     # the centre CROP×CROP one colour, a band around it (inside 178×218) another
        image[:] = OUTSIDE
        image[TOP:TOP + CROP, LEFT:LEFT + CROP] = CENTRE
    elif index == 2:   # as 1, with a 16-pixel frame of a third colour along the inside of the crop's edge
        image[:] = OUTSIDE
        image[TOP:TOP + CROP, LEFT:LEFT + CROP] = FRAME
        image[TOP + 16:TOP + CROP - 16, LEFT + 16:LEFT + CROP - 16] = CENTRE
    elif index == 3:   # pure red
        image[:] = (255, 0, 0)
    else:
        image[:] = rng.integers(0, 256, size=(HEIGHT // 2, WIDTH // 2, 3)).repeat(2, 0).repeat(2, 1)
    return image


def _write_celeba(root) -> None:
    """A fake CelebA in torchvision's layout: root/celeba/img_align_celeba/*.jpg and the five .txt files."""
    folder = celeba_folder(root)
    (folder / "img_align_celeba").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for index, name in enumerate(PARTITION, start=1):
        jpeg = folder / "img_align_celeba" / name
        Image.fromarray(_pixels(index, rng)).save(jpeg, quality=95, subsampling=0)   # 4:4:4, little ringing
    n, names = len(PARTITION), list(PARTITION)
    # CelebA's formats: partition and identity without header; the others start with the image count and a
    # header line (torchvision's _load_csv(..., header=1)), then rows separated by one or more spaces.
    (folder / "list_eval_partition.txt").write_text("".join(f"{name} {p}\n" for name, p in PARTITION.items()))
    (folder / "identity_CelebA.txt").write_text("".join(f"{name} {i + 1}\n" for i, name in enumerate(names)))
    (folder / "list_attr_celeba.txt").write_text(
        f"{n}\n{ATTRIBUTES} \n" + "".join(f"{name} " + " ".join(["-1", " 1"] * 20) + "\n" for name in names))
    (folder / "list_bbox_celeba.txt").write_text(
        f"{n}\nimage_id x_1 y_1 width height\n" + "".join(f"{name}    95  71 226 313\n" for name in names))
    (folder / "list_landmarks_align_celeba.txt").write_text(
        f"{n}\n{LANDMARKS}\n" + "".join(f"{name} 69  109  106  113   77  142   73  152  108  154\n"
                                        for name in names))


def _skip_md5(patch) -> None:
    # The fake .txt files cannot have CelebA's MD5 sums, which torchvision checks before reading anything
    # (CelebA._check_integrity, through the module's check_integrity): replace that check, and only it, by
    # "the file exists", so everything else (the parsing, the split selection, the images) is torchvision's.
    patch.setattr("torchvision.datasets.celeba.check_integrity", lambda path, md5=None: os.path.isfile(path))


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    _write_celeba(root)
    return root


@pytest.fixture(scope="module")
def train(root):
    with pytest.MonkeyPatch.context() as patch:
        _skip_md5(patch)
        return load_celeba(root, progress=False, workers=0)


@pytest.fixture
def no_md5(monkeypatch):
    _skip_md5(monkeypatch)


def test_train_split_is_one_float_tensor_in_range(train):
    assert train.shape == (4, 3, 64, 64) and train.dtype == torch.float32
    assert train.min() >= -1 and train.max() <= 1
    assert train.min() < -0.9 and train.max() > 0.9   # the full range is used: pixel / 127.5 − 1


def test_splits_limit_size_and_workers(root, train, no_md5):
    sizes = {split: len(load_celeba(root, split=split, progress=False, workers=0))
             for split in ("valid", "test", "all")}
    assert sizes == {"valid": 2, "test": 2, "all": 8}
    first = load_celeba(root, limit=3, progress=False, workers=0)
    assert torch.equal(first, train[:3])
    assert torch.equal(load_celeba(root, limit=100, progress=False, workers=0), train)
    assert load_celeba(root, split="test", size=32, progress=False, workers=0).shape == (2, 3, 32, 32)
    assert torch.equal(load_celeba(root, progress=False, workers=2), train)   # decoded the same in workers


def test_default_root_is_course_data(root, train, no_md5, monkeypatch):
    monkeypatch.setenv("COURSE_DATA", str(root))
    assert celeba_folder() == root / "celeba"
    assert torch.equal(load_celeba(progress=False, workers=0), train)


def _close(pixels: torch.Tensor, colour) -> torch.Tensor:
    """Per pixel of (3, h, w): whether it is ``colour`` (0…255) within TOLERANCE."""
    target = torch.tensor(colour, dtype=torch.float32).view(3, 1, 1) / 127.5 - 1
    return ((pixels - target).abs() <= TOLERANCE).all(dim=0)


def test_crop_is_the_centre_140(root, train):
    assert _close(train[0], CENTRE).all()
    # The test can tell: any other crop of image 1 (here the top-left 140×140, or no crop) contains the band.
    jpeg = Image.open(celeba_folder(root) / "img_align_celeba" / "000001.jpg")
    for other in (jpeg.crop((0, 0, CROP, CROP)), jpeg):
        pixels = torch.as_tensor(np.array(other.resize((64, 64)))).permute(2, 0, 1) / 127.5 - 1
        assert not _close(pixels, CENTRE).all()
    # Image 2: its frame (16 of 140 pixels, 7 of 64) fills the output's edges, so the crop is not smaller
    # either, and the centre colour is in the middle.
    edges = torch.ones(64, 64, dtype=torch.bool)
    edges[5:-5, 5:-5] = False
    assert _close(train[1], FRAME)[edges].all()
    assert _close(train[1][:, 9:-9, 9:-9], CENTRE).all()


def test_channels_are_rgb(train):
    red = train[2]
    assert (red[0] > 1 - TOLERANCE).all() and (red[1:] < -1 + TOLERANCE).all()


def test_missing_folder_says_where_to_put_what(tmp_path):
    assert not celeba_available(tmp_path)
    with pytest.raises(FileNotFoundError, match="img_align_celeba") as info:
        load_celeba(tmp_path, progress=False)
    message = str(info.value)
    for needed in (str(tmp_path / "celeba"), "list_eval_partition.txt", "identity_CelebA.txt",
                   "list_attr_celeba.txt", "list_bbox_celeba.txt", "list_landmarks_align_celeba.txt",
                   "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html", "non-commercial", "redistributed",
                   "COURSE_DATA"):
        assert needed in message, needed
    (tmp_path / "celeba" / "img_align_celeba").mkdir(parents=True)
    assert not celeba_available(tmp_path)
    (tmp_path / "celeba" / "list_eval_partition.txt").write_text("000001.jpg 0\n")
    assert celeba_available(tmp_path)


def test_md5_check_rejects_the_fake_folder(root):
    # Without the patch, torchvision's own check runs: the fake .txt files are not CelebA's.
    assert celeba_available(root)
    with pytest.raises(FileNotFoundError, match="corrupt") as info:
        load_celeba(root, progress=False, workers=0)
    assert str(celeba_folder(root)) in str(info.value) and "MD5" in str(info.value)


def test_image_listed_but_missing_is_the_same_clear_error(tmp_path, no_md5):
    _write_celeba(tmp_path)
    (celeba_folder(tmp_path) / "img_align_celeba" / "000002.jpg").unlink()
    with pytest.raises(FileNotFoundError, match="img_align_celeba"):
        load_celeba(tmp_path, progress=False, workers=0)


@pytest.mark.parametrize("bad, match", [(dict(split="validation"), "split"), (dict(size=0), "size"),
                                        (dict(size=64.0), "size"), (dict(limit=0), "limit"),
                                        (dict(limit=True), "limit"), (dict(workers=-1), "workers")])
def test_bad_arguments_of_the_loader(root, bad, match):
    with pytest.raises(ValueError, match=match):
        load_celeba(root, progress=False, **bad)


def test_generator_shapes_and_range():
    torch.manual_seed(0)
    generator = celeba_generator(latent_dim=8, width=4)
    sides = []
    for module in generator:
        if isinstance(module, nn.ConvTranspose2d):
            module.register_forward_hook(lambda m, args, out: sides.append(tuple(out.shape[1:])))
    images = generator(torch.randn(5, 8))
    assert images.shape == (5, 3, 64, 64) and images.min() >= -1 and images.max() <= 1
    assert sides == [(32, 4, 4), (16, 8, 8), (8, 16, 16), (4, 32, 32), (3, 64, 64)]
    assert isinstance(generator[-1], nn.Tanh)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in generator) == 4
    assert not any(isinstance(m, nn.BatchNorm2d) for m in celeba_generator(8, 4, batch_norm=False))
    with pytest.raises(ValueError, match=r"\(n, 8\)"):
        generator(torch.randn(5, 9))


def test_generator_size_grows_with_width():
    counts = [sum(p.numel() for p in celeba_generator(100, w).parameters()) for w in (4, 8, 64)]
    assert counts[0] < counts[1] < counts[2]
    assert celeba_generator()[1].in_channels == 100 and celeba_generator()[1].out_channels == 512


@pytest.mark.parametrize("norm, kind", [(None, None), ("batch", nn.BatchNorm2d), ("layer", nn.GroupNorm)])
def test_critic_scores_each_image(norm, kind):
    torch.manual_seed(0)
    critic = celeba_critic(width=4, norm=norm)
    sides = []
    for module in critic:
        if isinstance(module, nn.Conv2d):
            module.register_forward_hook(lambda m, args, out: sides.append(tuple(out.shape[1:])))
    scores = critic(torch.rand(6, 3, 64, 64) * 2 - 1)
    assert scores.shape == (6, 1)
    assert sides == [(4, 32, 32), (8, 16, 16), (16, 8, 8), (32, 4, 4), (1, 1, 1)]
    assert not isinstance(critic[-1], (nn.Sigmoid, nn.Tanh))
    norms = [m for m in critic if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm))]
    assert len(norms) == (0 if kind is None else 3) and all(type(m) is kind for m in norms)
    if norm == "layer":
        assert all(m.num_groups == 1 for m in norms)   # one group: layer norm over channels and pixels


def test_bad_network_arguments():
    with pytest.raises(ValueError, match="unknown norm"):
        celeba_critic(4, "spectral")
    with pytest.raises(ValueError, match="width"):
        celeba_critic(0)
    with pytest.raises(ValueError, match="width"):
        celeba_generator(width=-1)
    with pytest.raises(ValueError, match="latent_dim"):
        celeba_generator(latent_dim=2.5)


@pytest.mark.parametrize("algo, loss, n_critic, norm_layer", [
    ("dcgan", "non-saturating", 1, torch.nn.BatchNorm2d), ("wgan-gp", "wasserstein", 5, torch.nn.GroupNorm)])
def test_variants_have_their_authors_settings(algo, loss, n_critic, norm_layer):
    gan = build_celeba_variant(algo, width=4, latent_dim=8)
    assert gan.loss.name == loss and gan.n_critic == n_critic
    assert any(isinstance(m, norm_layer) for m in gan.critic)
    lr = {"dcgan": 2e-4, "wgan-gp": 1e-4}[algo]
    assert gan.critic_optimizer.param_groups[0]["lr"] == pytest.approx(lr)
    assert (gan.constraint is None) == (algo == "dcgan")
    with pytest.raises(ValueError, match="unknown algorithm"):
        build_celeba_variant("wgan")


@pytest.mark.parametrize("algo", ["dcgan", "wgan-gp"])
def test_the_chapters_celeba_runs_train_on_the_fake_folder_and_resume(train, algo, tmp_path):
    # The chapter's gpu-profile cell, on the fake folder: 3 iterations, samples at 0, 2 and 3,
    # then 2 more from the checkpoint; the weights must move and the samples be faces' shape.
    before = build_celeba_variant(algo, width=4).generator.state_dict()
    path = tmp_path / f"celeba-{algo}.pt"
    gan, history = train_celeba(algo, train, iterations=3, checkpoint=path, evaluate_every=2, width=4,
                                progress=False)
    assert history["metrics"]["iteration"] == [0, 2, 3]
    samples = history["metrics"]["samples"][-1]
    assert samples.shape == (64, 3, 64, 64) and samples.dtype == torch.uint8
    assert any(not torch.equal(before[k], v) for k, v in gan.generator.state_dict().items())
    assert history["critic_steps"][-1] == 3 * {"dcgan": 1, "wgan-gp": 5}[algo]
    _, resumed = train_celeba(algo, train, iterations=5, checkpoint=path, evaluate_every=2, width=4,
                              progress=False)
    assert resumed["iteration"][:3] == history["iteration"] and resumed["iteration"][-1] == 5
    with pytest.raises(ValueError, match=r"\(n, 3, 64, 64\)"):
        train_celeba(algo, train[:, :, :32, :32], iterations=1, progress=False)
