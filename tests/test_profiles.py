import numpy as np
import pytest
import torch

from course_utils import profiles
from course_utils.profiles import get_device, get_profile, seed_everything, start_chapter


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "CPU ")
    assert get_profile().name == "cpu"
    assert get_profile("gpu").name == "gpu"  # an explicit name wins over the environment


@pytest.mark.parametrize("cuda, expected", [(True, "gpu"), (False, "cpu")])
def test_default_profile_follows_cuda(monkeypatch, cuda, expected):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert get_profile().name == expected


def test_unknown_profile_lists_the_valid_ones(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "laptop")
    with pytest.raises(ValueError, match="'laptop'.*ci, cpu, gpu"):
        get_profile()


def test_profiles_grow_from_ci_to_gpu():
    ci, cpu, gpu = (profiles.PROFILES[k] for k in ("ci", "cpu", "gpu"))
    for field in ("toy_samples", "slider_frames", "bias_repeats", "critic_width", "critic_batch",
                  "critic_steps", "deep_critic_steps", "toy_iterations", "toy_width", "toy_batch", "toy_frames",
                  "collapse_iterations", "collapse_runs"):
        assert getattr(ci, field) <= getattr(cpu, field) <= getattr(gpu, field), field
    for p in (ci, cpu, gpu):
        assert list(p.clip_values) == sorted(set(p.clip_values)) and p.clip_values[0] > 0
        assert {0.001, 0.01, 0.1} <= set(p.clip_values)  # Gulrajani et al.'s c values are frames
        assert list(p.ot_timing_sizes) == sorted(p.ot_timing_sizes)
        assert p.toy_frames >= 3 and p.toy_iterations % (p.toy_frames - 1) == 0   # snapshots on whole iterations
        assert p.collapse_iterations % 10 == 0     # the mode-collapse run is measured every tenth
    assert gpu.toy_lr_scale == 1.0                      # the gpu profile keeps the papers' learning rates
    for field in ("mnist_iterations", "mnist_width", "mnist_latent_dim", "mnist_failure_iterations"):
        assert getattr(ci, field) <= getattr(cpu, field) <= getattr(gpu, field), field
    for p in (ci, cpu, gpu):
        # the failure runs are compared with the main runs at an evaluated iteration
        assert p.mnist_iterations % p.mnist_metric_every == 0
        assert p.mnist_failure_iterations % p.mnist_metric_every == 0
        assert p.mnist_failure_iterations <= p.mnist_iterations and p.mnist_source in ("embedded", "full")
    assert gpu.mnist_lr_scale == 1.0 and gpu.mnist_source == "full"   # the papers' settings on full MNIST
    assert ci.dot_seeds <= cpu.dot_seeds <= gpu.dot_seeds
    for p in (ci, cpu, gpu):
        # DOT's slider starts from the generator's own samples (0 steps) and includes the authors' 10 steps
        assert p.dot_steps[0] == 0 and 10 in p.dot_steps and list(p.dot_steps) == sorted(set(p.dot_steps))
        assert p.dot_seeds >= 3


def test_device_choice(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert get_device() == torch.device("cpu")
    monkeypatch.setenv("COURSE_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        get_device()
    with pytest.raises(ValueError, match="unknown device 'gpu0'"):
        get_device("gpu0")


def test_seed_everything_reproduces_all_generators():
    rng = seed_everything(7)
    first = (rng.random(), np.random.rand(), torch.rand(1).item())
    rng = seed_everything(7)
    assert (rng.random(), np.random.rand(), torch.rand(1).item()) == first
    with pytest.raises(ValueError, match="non-negative integer"):
        seed_everything(-1)


def test_start_chapter_prints_profile_and_device(capsys, monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "ci")
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    setup = start_chapter(seed=3)
    assert capsys.readouterr().out == "profile: ci | device: cpu | seed: 3\n"
    assert setup.profile.name == "ci" and setup.device.type == "cpu"
    assert setup.rng.random() == np.random.default_rng(3).random()
