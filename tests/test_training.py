"""The training loop: every variant learns, resume is exact, clipping holds, guards fire."""

import math

import pytest
import torch
from torch import nn

from course_utils.gan_losses import MINIMAX, NON_SATURATING, WASSERSTEIN
from course_utils.lipschitz import GradientPenalty, LipschitzConstraint, SpectralNormalization, WeightClipping
from course_utils.models import critic_mlp, generator_mlp
from course_utils.training import (
    HISTORY_KEYS, TrainingLog, critic_iterations, critic_step, draw_batch, generator_step, latent_codes,
    load_checkpoint, paper_optimizers, save_checkpoint, train_gan,
)

VARIANTS = {
    "gan": (NON_SATURATING, None, None),
    "wgan": (WASSERSTEIN, WeightClipping(0.01), None),
    "wgan-gp": (WASSERSTEIN, GradientPenalty(10.0), None),
    "sn-wgan": (WASSERSTEIN, SpectralNormalization(), "spectral"),
}


def two_blobs(n=512):
    """Real data: a tight blob at (2, 2); an untrained generator puts its samples near 0."""
    return 2.0 + 0.1 * torch.randn(n, 2, generator=torch.Generator().manual_seed(5))


def models(norm=None, seed=0, width=32):
    torch.manual_seed(seed)
    return generator_mlp(width=width, depth=2), critic_mlp(width=width, depth=2, norm=norm)


def run(variant, iterations, seed=0, **kwargs):
    loss, constraint, norm = VARIANTS[variant]
    generator, critic = models(norm, seed)
    kwargs.setdefault("batch_size", 32)
    history = train_gan(generator, critic, two_blobs(), loss=loss, constraint=constraint, iterations=iterations,
                        latent_dim=2, progress=False, **kwargs)
    return generator, critic, history


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_lowers_its_critic_loss(variant):
    _, _, history = run(variant, 30, warmup=False)
    assert len(history["iteration"]) == 30 and history["iteration"][-1] == 30
    for key in HISTORY_KEYS:
        assert len(history[key]) == 30 and all(math.isfinite(v) for v in history[key])
    first, last = history["critic_loss"][0], sum(history["critic_loss"][-5:]) / 5
    assert last < first, (variant, first, last)
    if variant != "gan":   # a Wasserstein critic's loss is minus its estimate
        assert history["critic_loss"] == pytest.approx([-e for e in history["estimate"]], abs=1e-6)


def test_penalty_is_recorded_only_with_the_gradient_penalty():
    assert all(p > 0 for p in run("wgan-gp", 5)[2]["penalty"])
    assert all(p == 0 for p in run("sn-wgan", 5)[2]["penalty"])


def test_warmup_gives_the_critic_100_steps_for_the_first_25_iterations_and_every_500th():
    assert [critic_iterations(i, 5, True) for i in (0, 24, 25, 499, 500, 501, 1000)] == [100, 100, 5, 5, 100, 5, 100]
    assert {critic_iterations(i, 5, False) for i in range(1001)} == {5}
    assert run("wgan", 3)[2]["critic_steps"] == [100, 200, 300]              # on by default with clipping
    assert run("wgan", 3, warmup=False)[2]["critic_steps"] == [5, 10, 15]
    assert run("wgan-gp", 2)[2]["critic_steps"] == [5, 10]                   # off by default otherwise


class RecordingRMSprop(torch.optim.RMSprop):
    """Records the largest |weight| each time it is about to step: the state the previous step left."""

    def __init__(self, params, **kwargs):
        super().__init__(params, **kwargs)
        self.largest = []

    @torch.no_grad()
    def step(self, closure=None):
        self.largest.append(max(p.abs().max().item() for group in self.param_groups for p in group["params"]))
        return super().step(closure)


def test_clipping_bounds_every_weight_after_every_critic_step():
    c = 0.01
    generator, critic = models()
    optimizer = RecordingRMSprop(critic.parameters(), lr=0.05)   # large steps: every update leaves [−c, c]
    history = train_gan(generator, critic, two_blobs(), loss=WASSERSTEIN, constraint=WeightClipping(c),
                        iterations=4, latent_dim=2, batch_size=32, warmup=False, critic_optimizer=optimizer,
                        progress=False)
    assert optimizer.largest[0] > c                              # the initial weights were outside
    assert len(optimizer.largest) == history["critic_steps"][-1] == 20
    assert max(optimizer.largest[1:]) <= c                       # clipped after each of the first 19 steps
    assert max(p.abs().max().item() for p in critic.parameters()) <= c   # and after the last


class CountsAsBatchNorm(nn.modules.batchnorm._BatchNorm):
    """The identity, but a batch-norm module to train_gan: it then scores real and fake apart."""

    def __init__(self):
        super().__init__(1, affine=False, track_running_stats=False)   # no parameters, no buffers

    def forward(self, x):
        return x


@pytest.mark.parametrize("variant", ["gan", "wgan"])
def test_one_critic_pass_over_real_and_fake_equals_two_separate_passes(variant):
    # Without batch norm train_gan scores torch.cat([real, fake]) in one pass and splits the
    # scores; the same critic seen as having batch norm gets two passes. Same seeds, same steps:
    # the two runs must agree, or the joint pass mixed up (or reordered) the two halves.
    loss, constraint, _ = VARIANTS[variant]
    runs = []
    for separate in (False, True):
        generator, critic = models(seed=3)
        if separate:
            critic = nn.Sequential(CountsAsBatchNorm(), *critic)
        history = train_gan(generator, critic, two_blobs(), loss=loss, constraint=constraint, iterations=10,
                            latent_dim=2, batch_size=32, warmup=False, progress=False)
        runs.append((generator, critic, history))
    (g_joint, c_joint, h_joint), (g_apart, c_apart, h_apart) = runs
    for key in ("critic_loss", "estimate", "generator_loss"):
        assert torch.allclose(torch.tensor(h_joint[key]), torch.tensor(h_apart[key]), atol=1e-5), key
    for a, b in zip([*g_joint.parameters(), *c_joint.parameters()], [*g_apart.parameters(), *c_apart.parameters()]):
        assert torch.allclose(a, b, atol=1e-5)


def test_resume_after_an_interruption_gives_the_uninterrupted_history(tmp_path):
    def metric(generator, critic):
        return {"output": generator(torch.ones(1, 2)).sum().item()}

    for variant in ("wgan-gp", "wgan"):
        generator, critic, full = run(variant, 10, evaluate=metric, evaluate_every=3)

        path = tmp_path / f"{variant}.pt"
        calls = {"n": 0}

        def interrupting(generator, critic):
            calls["n"] += 1
            if calls["n"] == 3:          # evaluated at iterations 0, 3, 6: stop at 6
                raise KeyboardInterrupt
            return metric(generator, critic)

        with pytest.raises(KeyboardInterrupt):
            run(variant, 10, evaluate=interrupting, evaluate_every=3, checkpoint=path, checkpoint_every=4)
        assert load_checkpoint(path)["iteration"] == 4
        # A fresh process: differently initialised models, the checkpoint restores everything.
        resumed_generator, resumed_critic, resumed = run(variant, 10, seed=123, evaluate=metric,
                                                         evaluate_every=3, checkpoint=path, checkpoint_every=4)
        assert resumed["iteration"] == list(range(1, 11))
        for key in (*HISTORY_KEYS, "critic_steps", "metrics"):
            assert resumed[key] == full[key], (variant, key)
        for a, b in zip(generator.parameters(), resumed_generator.parameters()):
            assert torch.equal(a, b)
        for a, b in zip(critic.parameters(), resumed_critic.parameters()):
            assert torch.equal(a, b)


def test_a_finished_run_is_loaded_not_retrained(tmp_path):
    path = tmp_path / "done.pt"
    generator, _, first = run("wgan-gp", 6, checkpoint=path)
    again_generator, _, again = run("wgan-gp", 6, seed=99, checkpoint=path)
    assert again == first
    for a, b in zip(generator.parameters(), again_generator.parameters()):
        assert torch.equal(a, b)
    _, _, longer = run("wgan-gp", 8, checkpoint=path)           # asking for more continues from there
    assert longer["iteration"] == list(range(1, 9)) and longer["estimate"][:6] == first["estimate"]


def test_resuming_with_other_settings_is_refused(tmp_path):
    path = tmp_path / "gp.pt"
    run("wgan-gp", 2, checkpoint=path)
    with pytest.raises(ValueError, match="other settings.*n_critic"):
        run("wgan-gp", 4, checkpoint=path, n_critic=3)
    with pytest.raises(ValueError, match="other settings.*constraint"):
        run("wgan", 4, checkpoint=path)


def test_the_guard_names_the_iteration_and_the_quantity_of_an_injected_nan():
    def poison(generator, critic):
        if poison.calls == 1:                                      # at iteration 3 (second evaluation)
            with torch.no_grad():
                next(critic.parameters())[0, 0] = float("nan")
        poison.calls += 1
        return {"poison": 0.0}
    poison.calls = 0
    loss, constraint, _ = VARIANTS["wgan-gp"]
    generator, critic = models()
    with pytest.raises(FloatingPointError, match=r"iteration 4: the critic loss is nan"):
        train_gan(generator, critic, two_blobs(), loss=loss, constraint=constraint, iterations=10, latent_dim=2,
                  batch_size=32, evaluate=poison, evaluate_every=3, progress=False)
    # the models are left usable: the critic trainable again, both in eval mode
    assert all(p.requires_grad for p in critic.parameters()) and not critic.training and not generator.training


def test_nan_data_are_refused_before_training():
    data = two_blobs()
    data[7, 1] = float("nan")
    generator, critic = models()
    with pytest.raises(ValueError, match="NaN"):
        train_gan(generator, critic, data, loss=WASSERSTEIN, iterations=1, latent_dim=2, progress=False)


def test_a_corrupt_checkpoint_gives_a_clear_error(tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(RuntimeError, match="corrupt or unreadable.*delete it"):
        run("wgan-gp", 2, checkpoint=garbage)
    truncated = tmp_path / "truncated.pt"
    run("wgan-gp", 2, checkpoint=truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(RuntimeError, match="corrupt or unreadable"):
        run("wgan-gp", 4, checkpoint=truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(RuntimeError, match="not a training checkpoint"):
        load_checkpoint(foreign)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")


def test_a_crash_while_saving_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    save_checkpoint(path, {"value": torch.arange(3)})

    def crashing_save(obj, file, *args, **kwargs):
        file.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crashing_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"value": torch.arange(5)})
    monkeypatch.undo()
    assert torch.equal(torch.load(path, weights_only=True)["value"], torch.arange(3))
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]    # no temporary file left behind


def test_a_checkpoint_for_other_models_is_refused(tmp_path):
    path = tmp_path / "run.pt"
    run("wgan-gp", 2, checkpoint=path)
    torch.manual_seed(0)
    wider_generator, wider_critic = generator_mlp(width=16, depth=2), critic_mlp(width=16, depth=2)
    with pytest.raises(RuntimeError, match="does not fit these models"):
        train_gan(wider_generator, wider_critic, two_blobs(), loss=WASSERSTEIN, constraint=GradientPenalty(10.0),
                  iterations=4, latent_dim=2, batch_size=32, checkpoint=path, progress=False)


def test_bad_arguments_get_clear_errors():
    generator, critic = models()
    data = two_blobs()
    common = dict(loss=WASSERSTEIN, iterations=1, latent_dim=2, progress=False)
    with pytest.raises(ValueError, match="n_critic"):
        train_gan(generator, critic, data, n_critic=0, **common)
    with pytest.raises(ValueError, match="iterations"):
        train_gan(generator, critic, data, **{**common, "iterations": -1})
    with pytest.raises(TypeError, match="GANLoss"):
        train_gan(generator, critic, data, **{**common, "loss": "wasserstein"})
    with pytest.raises(TypeError, match="constraint"):
        train_gan(generator, critic, data, constraint=0.01, **common)
    with pytest.raises(ValueError, match="non-empty"):
        train_gan(generator, critic, torch.zeros(5), **common)
    with pytest.raises(ValueError, match="not spectrally normalised"):
        train_gan(generator, critic, data, constraint=SpectralNormalization(), **common)
    with pytest.raises(ValueError, match="batch norm"):
        train_gan(generator, critic_mlp(width=8, norm="batch"), data, constraint=GradientPenalty(), **common)
    with pytest.raises(ValueError, match="clip value"):
        WeightClipping(0.0)
    with pytest.raises(ValueError, match="λ"):
        GradientPenalty(-1.0)


def test_default_optimisers_are_the_authors():
    generator, critic = models()
    g, c = paper_optimizers(WASSERSTEIN, WeightClipping(), generator, critic)
    assert isinstance(c, torch.optim.RMSprop) and c.defaults["lr"] == 5e-5
    g, c = paper_optimizers(WASSERSTEIN, GradientPenalty(), generator, critic)
    assert isinstance(g, torch.optim.Adam) and g.defaults["lr"] == 1e-4 and g.defaults["betas"] == (0.5, 0.9)
    g, c = paper_optimizers(NON_SATURATING, None, generator, critic, lr_scale=2.0)
    assert c.defaults["lr"] == 4e-4 and c.defaults["betas"] == (0.5, 0.999)
    assert {id(p) for p in g.param_groups[0]["params"]} == {id(p) for p in generator.parameters()}


def test_the_two_generator_losses_share_a_value_surface_but_not_its_slope():
    """Where D rejects the fakes (logit → −∞), log(1 − D) saturates and −log D does not."""
    scores = torch.tensor([-12.0, -4.0, 0.0], requires_grad=True)
    for loss, small in ((MINIMAX, True), (NON_SATURATING, False)):
        grad, = torch.autograd.grad(loss.generator(scores[:1]), scores)
        assert (abs(grad[0].item()) < 1e-4) == small
    real, fake = torch.tensor([3.0, 1.0]), torch.tensor([-2.0, 0.5])
    bce = nn.functional.binary_cross_entropy_with_logits
    expected = bce(real, torch.ones(2)) + bce(fake, torch.zeros(2))
    assert NON_SATURATING.critic(real, fake).item() == pytest.approx(expected.item())
    assert WASSERSTEIN.critic(real, fake).item() == pytest.approx(fake.mean().item() - real.mean().item())


def test_an_evaluation_may_return_samples_which_the_checkpoint_keeps(tmp_path):
    def samples(generator, critic):   # e.g. the frames of a slider over training
        return {"samples": generator(torch.zeros(3, 2)), "mean": generator(torch.zeros(3, 2)).mean()}

    path = tmp_path / "samples.pt"
    generator, _, history = run("wgan-gp", 4, checkpoint=path, evaluate=samples, evaluate_every=2)
    assert all(isinstance(m, float) for m in history["metrics"]["mean"])
    kept = history["metrics"]["samples"]
    assert history["metrics"]["iteration"] == [0, 2, 4] and len(kept) == 3
    assert all(isinstance(s, torch.Tensor) and s.shape == (3, 2) and s.device.type == "cpu" for s in kept)
    assert not torch.equal(kept[0], kept[-1])                   # the generator moved between the frames
    with torch.no_grad():
        assert torch.equal(kept[-1], generator.eval()(torch.zeros(3, 2)))
    saved = load_checkpoint(path)["history"]
    assert all(torch.equal(a, b) for a, b in zip(saved["metrics"]["samples"], kept))
    assert history["device"] == "cpu" and saved["device"] == "cpu"


def test_an_evaluation_must_return_a_dict_with_the_same_names():
    with pytest.raises(TypeError, match="dict"):
        run("wgan-gp", 2, evaluate=lambda g, c: 1.0)
    calls = iter([{"a": 1.0}, {"b": 2.0}])
    with pytest.raises(ValueError, match="same names"):
        run("wgan-gp", 2, evaluate=lambda g, c: next(calls), evaluate_every=1)


def test_train_gan_is_its_steps_in_order():
    # The algorithm box written out with the public steps, as the chapters do, against train_gan:
    # same initial weights, same random stream, same results to the last bit.
    for variant in ("wgan-gp", "gan"):
        loss, constraint, norm = VARIANTS[variant]
        constraint = constraint or LipschitzConstraint()
        generator, critic = models(norm, seed=4)
        g_opt, c_opt = paper_optimizers(loss, constraint, generator, critic)
        rng, data = torch.Generator().manual_seed(0), two_blobs()
        estimates = []
        for _ in range(6):
            for _ in range(5):
                real = draw_batch(data, 32, rng)
                with torch.no_grad():
                    fake = generator(latent_codes(32, 2, rng))
                step = critic_step(critic, c_opt, loss, constraint, real, fake, rng)
            generator_step(generator, critic, g_opt, loss, latent_codes(32, 2, rng))
            estimates.append(step.estimate.item())
        ours, theirs, history = run(variant, 6, seed=4, batch_size=32)
        assert history["estimate"] == estimates, variant
        for a, b in zip([*generator.parameters(), *critic.parameters()], [*ours.parameters(), *theirs.parameters()]):
            assert torch.equal(a, b), variant


def test_the_generator_step_leaves_the_critic_unchanged_and_trainable():
    generator, critic = models()
    before = [p.clone() for p in critic.parameters()]
    g_opt, _ = paper_optimizers(WASSERSTEIN, GradientPenalty(), generator, critic)
    generator_step(generator, critic, g_opt, WASSERSTEIN, torch.randn(8, 2))
    assert all(torch.equal(a, b) for a, b in zip(before, critic.parameters()))
    assert all(p.grad is None and p.requires_grad for p in critic.parameters())


def test_the_log_copies_in_one_transfer_and_names_the_first_non_finite_value():
    history = {}
    log = TrainingLog(history)
    for i in range(1, 4):
        log.record(i, loss=torch.tensor(float(i)), steps=5 * i)
    assert history["iteration"] == [] and log.flush() == {"loss": 3.0, "steps": 15}
    assert history == {"iteration": [1, 2, 3], "loss": [1.0, 2.0, 3.0], "steps": [5, 10, 15]}
    assert log.flush() is None
    log.record(4, loss=torch.tensor(4.0), steps=20)
    log.record(5, loss=torch.tensor(float("inf")), steps=25)
    with pytest.raises(FloatingPointError, match="iteration 5: the loss is inf"):
        log.flush()
    assert history["iteration"] == [1, 2, 3, 4]   # the good iteration before it is kept, the bad one is not


def test_a_checkpoint_loads_on_the_cpu_whatever_the_models_device(tmp_path, monkeypatch):
    # Random-number states must be CPU byte tensors (torch.set_rng_state, Generator.set_state):
    # loading a checkpoint onto the models' device breaks resuming on a GPU. Everything is read
    # on the CPU; load_state_dict puts weights and optimiser state where the models are.
    path = tmp_path / "run.pt"
    run("wgan-gp", 2, checkpoint=path)
    locations, real_load = [], torch.load

    def recording_load(*args, **kwargs):
        locations.append(kwargs.get("map_location"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", recording_load)
    saved = load_checkpoint(path)
    run("wgan-gp", 3, checkpoint=path)
    assert locations == ["cpu", "cpu"]
    states = saved["random_state"]
    for state in (states["rng"], states["torch"]):
        assert state.device.type == "cpu" and state.dtype == torch.uint8
