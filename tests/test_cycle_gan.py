"""CycleGAN: the losses, the networks' shapes, the image pool, the learning-rate schedule, and the loop."""

import copy
import io
import math
from collections import Counter

import pytest
import torch
from torch import nn

from course_utils.cycle_gan import (LEAST_SQUARES, ImagePool, ResidualBlock, cycle_consistency_loss, identity_loss,
                                    linear_decay, patch_critic, patch_mean, residual_generator, train_cycle_gan)
from course_utils.digit_domains import load_small_digits
from course_utils.gan_losses import WASSERSTEIN
from course_utils.lipschitz import GradientPenalty, SpectralNormalization, WeightClipping
from course_utils.training import draw_batch, load_checkpoint


def affine(scale, shift):
    """x ↦ scale · x + shift, as a module with parameters."""
    layer = nn.Conv2d(1, 1, 1)
    with torch.no_grad():
        layer.weight.fill_(scale)
        layer.bias.fill_(shift)
    return layer.requires_grad_(False)


def valid_images(n, seed):
    """Random images in [−1, 1] with some background: what check_images accepts."""
    images = torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    images[..., :3, :] = -1
    return images


def flat(*modules):
    return torch.cat([p.detach().flatten() for m in modules for p in m.parameters()]).clone()


# ---------------------------------------------------------------------------------------------
# Losses and the schedule
# ---------------------------------------------------------------------------------------------

def test_cycle_loss_is_zero_for_inverse_maps_and_the_mean_error_otherwise():
    x, y = valid_images(6, 0), valid_images(5, 1)
    g, f = affine(2.0, 0.5), affine(0.5, -0.25)            # f = g⁻¹
    loss = cycle_consistency_loss(x, f(g(x)), y, g(f(y)))
    assert loss.shape == () and loss.item() == pytest.approx(0.0, abs=1e-6)
    # Two non-inverse maps: the mean absolute error per pixel, summed over both directions.
    h = affine(-1.0, 0.1)
    loss = cycle_consistency_loss(x, h(g(x)), y, g(h(y)))
    by_hand = sum(float(abs(float(b) - float(a))) for a, b in zip(x.flatten(), h(g(x)).flatten())) / x.numel() \
        + sum(float(abs(float(b) - float(a))) for a, b in zip(y.flatten(), g(h(y)).flatten())) / y.numel()
    assert loss.item() == pytest.approx(by_hand, rel=1e-5) and loss.item() > 1
    # It is a loss of the reconstructions: the gradient reaches both translators.
    g.requires_grad_(True)
    cycle_consistency_loss(x, h(g(x)), y, g(h(y))).backward()
    assert g.weight.grad.abs().item() > 0


def test_identity_loss_is_zero_for_identity_maps_and_the_mean_change_otherwise():
    x, y = valid_images(4, 2), valid_images(3, 3)
    assert identity_loss(x, x.clone(), y, y.clone()).item() == 0.0
    f, g = affine(1.0, 0.25), affine(-1.0, 0.0)
    # F shifts every pixel by 0.25; G(y) − y = −2y.
    expected = 0.25 + (2 * y).abs().mean().item()
    assert identity_loss(x, f(x), y, g(y)).item() == pytest.approx(expected, rel=1e-6)


def test_least_squares_losses():
    real, fake = torch.full((3, 1, 7, 7), 1.0), torch.zeros(3, 1, 7, 7)
    assert LEAST_SQUARES.critic(real, fake).item() == 0.0          # a perfect critic
    assert LEAST_SQUARES.generator(real).item() == 0.0             # a generator that fools it
    scores = torch.tensor([[0.5, -1.0], [2.0, 0.0]])
    assert LEAST_SQUARES.generator(scores).item() == pytest.approx((0.25 + 4 + 1 + 1) / 4)
    assert LEAST_SQUARES.critic(scores, scores).item() == pytest.approx(0.5 * ((0.25 + 4 + 1 + 1) / 4
                                                                              + (0.25 + 1 + 4 + 0) / 4))


def test_linear_decay():
    iterations, start = 10, 4
    factors = [linear_decay(i, iterations, start) for i in range(iterations)]
    assert factors[:start + 1] == [1.0] * (start + 1)
    steps = [b - a for a, b in zip(factors[start:], factors[start + 1:])]
    assert all(step == pytest.approx(-1 / (iterations - start)) for step in steps)
    assert factors[-1] == pytest.approx(1 / (iterations - start)) and min(factors) > 0
    assert [linear_decay(i, 4, 0) for i in range(4)] == pytest.approx([1, 0.75, 0.5, 0.25])
    assert [linear_decay(i, 5, 5) for i in range(5)] == [1.0] * 5


def test_patch_mean_averages_the_scores_per_image():
    scores = torch.arange(2 * 49, dtype=torch.float32).view(2, 1, 7, 7)
    assert torch.equal(patch_mean(lambda x: scores)(None), torch.tensor([24.0, 73.0]))


# ---------------------------------------------------------------------------------------------
# The networks
# ---------------------------------------------------------------------------------------------

def test_residual_generator_maps_images_to_images():
    torch.manual_seed(0)
    width, blocks = 3, 2
    g = residual_generator(width, blocks)
    inner = []
    for module in g.modules():
        if isinstance(module, ResidualBlock):
            module.register_forward_hook(lambda m, args, out: inner.append(tuple(out.shape)))
    x = valid_images(5, 4)
    out = g(x)
    assert out.shape == (5, 1, 28, 28) and torch.isfinite(out).all()
    assert out.min() >= -1 and out.max() <= 1
    assert inner == [(5, 4 * width, 7, 7)] * blocks
    # Instance norm, not batch norm: each image's translation ignores the rest of the batch.
    torch.testing.assert_close(g(x[2:3]), out[2:3], rtol=0, atol=1e-5)
    assert not torch.allclose(out[0], out[1])
    assert residual_generator()(x).shape == (5, 1, 28, 28)
    for bad in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match="width"):
            residual_generator(width=bad)
        with pytest.raises(ValueError, match="blocks"):
            residual_generator(blocks=bad)


def test_a_residual_block_whose_last_convolution_is_zero_is_the_identity():
    torch.manual_seed(1)
    block = ResidualBlock(4)
    x = torch.randn(2, 4, 7, 7)
    assert not torch.allclose(block(x), x)
    last = [m for m in block.modules() if isinstance(m, nn.Conv2d)][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()
    assert torch.equal(block(x), x)


def test_patch_critic_scores_18x18_patches():
    torch.manual_seed(2)
    critic = patch_critic(3)
    x = valid_images(2, 5)
    assert critic(x).shape == (2, 1, 7, 7) and patch_critic()(x).shape == (2, 1, 7, 7)
    x.requires_grad_(True)
    scores = critic(x)
    for i, j in ((0, 0), (3, 3), (6, 2), (2, 5)):
        grad, = torch.autograd.grad(scores[0, 0, i, j], x, retain_graph=True)
        assert grad[1].abs().max() == 0                       # nothing from the other image
        rows, cols = (torch.nonzero(grad[0, 0].abs().sum(d)).flatten() for d in (1, 0))
        expected_rows = list(range(max(0, 4 * i - 7), min(28, 4 * i + 11)))
        expected_cols = list(range(max(0, 4 * j - 7), min(28, 4 * j + 11)))
        assert rows.tolist() == expected_rows and cols.tolist() == expected_cols, (i, j)
        if 2 <= i <= 4 and 2 <= j <= 4:
            assert len(expected_rows) == len(expected_cols) == 18
    # A pixel far from the corner leaves the corner's score as it was.
    moved = x.detach().clone()
    moved[0, 0, 20, 25] = 1.0
    assert torch.equal(critic(moved)[0, 0, 0, 0], scores[0, 0, 0, 0].detach())
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="width"):
            patch_critic(bad)


# ---------------------------------------------------------------------------------------------
# The image pool
# ---------------------------------------------------------------------------------------------

def batch_of_ids(ids):
    """Images (n, 1, 4, 4), each constant: its id."""
    return torch.tensor(ids, dtype=torch.float32).view(-1, 1, 1, 1).expand(-1, 1, 4, 4).clone()


def ids_of(images):
    assert (images == images[:, :1, :1, :1]).all(), "an image was mixed with another"
    return images[:, 0, 0, 0].tolist()


def test_the_pool_returns_only_images_it_was_given_and_loses_none():
    size, rng = 10, torch.Generator().manual_seed(0)
    pool, given, swapped, queried = ImagePool(size), set(), 0, 0
    for step in range(60):
        batch_size = 1 + step % 7
        ids = [float(1000 * step + k) for k in range(batch_size)]
        before = Counter(ids_of(pool.images)) if len(pool) else Counter()
        full = len(pool) == size
        returned = pool.query(batch_of_ids(ids), rng)
        given.update(ids)
        assert returned.shape == (batch_size, 1, 4, 4)
        out = ids_of(returned)
        assert set(out) <= given
        # Nothing is lost, and nothing duplicated but the images stored while the pool fills (kept and
        # returned): what went in (pool + batch + those) is what is there (pool + returned).
        stored = len(pool) - sum(before.values())
        assert before + Counter(ids) + Counter(ids[:stored]) == Counter(ids_of(pool.images)) + Counter(out)
        assert len(pool) == min(size, len(given)) <= size
        if full:
            swapped += sum(a != b for a, b in zip(out, ids))
            queried += batch_size
    # Once full, each image is swapped for a stored one with probability ½.
    share, se = swapped / queried, math.sqrt(0.25 / queried)
    assert abs(share - 0.5) < 4 * se, (share, queried)


def test_the_pool_returns_the_batch_while_it_fills():
    pool, rng = ImagePool(10), torch.Generator().manual_seed(1)
    for ids in ([1, 2, 3, 4], [5, 6, 7, 8]):
        batch = batch_of_ids(ids)
        assert torch.equal(pool.query(batch, rng), batch)
    assert len(pool) == 8
    out = ids_of(pool.query(batch_of_ids([9, 10, 11, 12, 13, 14]), rng))
    assert out[:2] == [9, 10]                      # the last two free places
    # 9 and 10 are both stored and returned; each of the others either stays out or takes a stored one's place.
    assert len(pool) == 10
    assert Counter(ids_of(pool.images)) == Counter(range(1, 15)) + Counter([9, 10]) - Counter(out)


def test_a_pool_of_size_zero_returns_the_batch_and_the_pool_detaches():
    batch = valid_images(3, 6).requires_grad_(True)
    for size in (0, 5):
        pool = ImagePool(size)
        returned = pool.query(batch * 1.0)
        assert torch.equal(returned, batch) and not returned.requires_grad
        assert len(pool) == min(size, 3)
    # The pool keeps copies: editing a batch afterwards does not change what it holds.
    pool, images = ImagePool(4), batch_of_ids([1, 2, 3])
    pool.query(images)
    images.fill_(-5)
    assert sorted(ids_of(pool.images)) == [1, 2, 3]


def test_the_pool_is_reproducible_with_a_seeded_generator():
    runs = []
    for seed in (3, 3, 4):
        pool, rng, out = ImagePool(6), torch.Generator().manual_seed(seed), []
        for step in range(12):
            out += ids_of(pool.query(batch_of_ids([10 * step + k for k in range(4)]), rng))
        runs.append((out, ids_of(pool.images)))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


@pytest.mark.parametrize("through_bytes", [False, True])
def test_the_pool_s_state_round_trips(through_bytes):
    original = ImagePool(5)
    rng = torch.Generator().manual_seed(5)
    for step in range(4):
        original.query(batch_of_ids([10 * step + k for k in range(3)]), rng)
    state = original.state_dict()
    if through_bytes:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        buffer.seek(0)
        state = torch.load(buffer, weights_only=True)
    loaded = ImagePool(5)
    loaded.load_state_dict(state)
    assert len(loaded) == len(original) == 5 and torch.equal(loaded.images, original.images)
    loaded_start = original.images.clone()
    rng_a, rng_b = torch.Generator().manual_seed(6), torch.Generator().manual_seed(6)
    for step in range(4, 10):
        batch = batch_of_ids([10 * step + k for k in range(3)])
        assert torch.equal(original.query(batch, rng_a), loaded.query(batch, rng_b))
        assert torch.equal(original.images, loaded.images)
    # The state is a copy: the queries above changed neither it nor the pool loaded from it.
    again = ImagePool(5)
    again.load_state_dict(state)
    assert torch.equal(again.images, loaded_start)
    # An empty pool's state loads as an empty pool, which then fills as a new one does.
    empty = ImagePool(5)
    empty.load_state_dict(ImagePool(5).state_dict())
    assert len(empty) == 0
    batch = batch_of_ids([1, 2])
    assert torch.equal(empty.query(batch), batch)


def test_bad_pool_sizes_and_batches_are_refused():
    for bad in (-1, True, 2.0, "50", None):
        with pytest.raises(ValueError, match="pool size"):
            ImagePool(bad)
    pool = ImagePool(4)
    for bad in (torch.zeros(0, 1, 4, 4), torch.zeros(5), [torch.zeros(1, 4, 4)], torch.tensor(1.0)):
        with pytest.raises(ValueError, match="non-empty batch"):
            pool.query(bad)
    assert len(pool) == 0
    pool.query(batch_of_ids([1, 2]))
    for bad in (torch.zeros(2, 1, 5, 5), torch.zeros(2, 2, 4, 4), batch_of_ids([3, 4]).double()):
        with pytest.raises(ValueError, match="pool holds images"):
            pool.query(bad)
    assert sorted(ids_of(pool.images)) == [1, 2]
    for other in (ImagePool(3), ImagePool(0)):
        with pytest.raises(ValueError, match="size"):
            other.load_state_dict(pool.state_dict())
    with pytest.raises(ValueError, match="size"):
        pool.load_state_dict({"images": pool.images})


# ---------------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def domains():
    split = load_small_digits()
    return split.train_images[:64], split.test_images[:64]


def networks(seed=0):
    torch.manual_seed(seed)
    return residual_generator(2, 1), residual_generator(2, 1), patch_critic(2), patch_critic(2)


def train(models, domains, **options):
    options = {"iterations": 6, "batch_size": 4, "pool_size": 5, "progress": False, **options}
    return train_cycle_gan(*models, *domains, **options)


HISTORY_KEYS = ("adversarial", "cycle", "identity", "critic_loss", "penalty")


def test_a_short_run_records_its_history_and_leaves_the_models_ready(domains):
    models = networks()
    history = train(models, domains, evaluate=lambda g, f, cx, cy: {"n": 1.0}, evaluate_every=4)
    assert history["iteration"] == [1, 2, 3, 4, 5, 6]
    for key in (*HISTORY_KEYS, "time"):
        assert len(history[key]) == 6 and all(math.isfinite(v) for v in history[key]), key
    assert all(t1 >= t0 for t0, t1 in zip(history["time"], history["time"][1:]))
    assert history["penalty"] == [0.0] * 6
    assert all(v > 0 for key in ("adversarial", "cycle", "identity", "critic_loss") for v in history[key])
    assert history["metrics"] == {"iteration": [0, 4, 6], "n": [1.0, 1.0, 1.0]}
    assert not any(model.training for model in models)
    assert all(p.requires_grad for model in models for p in model.parameters())


def test_the_first_iteration_is_the_objective_on_its_batches(domains):
    weights, lr = {"cycle_weight": 3.0, "identity_weight": 0.7}, 1e-3
    g0, f0, cx0, cy0 = networks(seed=1)
    models = [copy.deepcopy(m) for m in (g0, f0, cx0, cy0)]
    history = train(models, domains, iterations=1, batch_size=4, pool_size=8, lr=lr, **weights)
    # By hand: the batches are drawn from the loop's seeded generator, x first.
    rng = torch.Generator().manual_seed(0)
    x, y = draw_batch(domains[0], 4, rng), draw_batch(domains[1], 4, rng)
    fake_y, fake_x = g0(x), f0(y)
    adversarial = (cy0(fake_y) - 1).pow(2).mean() + (cx0(fake_x) - 1).pow(2).mean()
    cycle = (f0(fake_y) - x).abs().mean() + (g0(fake_x) - y).abs().mean()
    identity = (f0(x) - x).abs().mean() + (g0(y) - y).abs().mean()
    # The pool is not full yet: the critics see this iteration's translations, through critics the
    # generator step has not changed.
    critic_loss = 0.5 * ((cy0(y) - 1).pow(2).mean() + cy0(fake_y.detach()).pow(2).mean()) \
        + 0.5 * ((cx0(x) - 1).pow(2).mean() + cx0(fake_x.detach()).pow(2).mean())
    for key, value in (("adversarial", adversarial), ("cycle", cycle), ("identity", identity),
                       ("critic_loss", critic_loss)):
        assert history[key][0] == pytest.approx(value.item(), rel=1e-5), key
    assert history["penalty"] == [0.0]
    # One Adam step (β = (0.5, 0.999)) of each pair on its loss: its first step moves each parameter by
    # lr · g / (|g| + 1e-8). Where g is roundoff (a bias before instance norm), only the bound is checked.
    objective = adversarial + weights["cycle_weight"] * cycle + weights["identity_weight"] * identity
    for pair, trained, loss in (((g0, f0), models[:2], objective), ((cx0, cy0), models[2:], critic_loss)):
        parameters = [p for m in pair for p in m.parameters()]
        grads = torch.autograd.grad(loss, parameters, retain_graph=True)
        moved = [p for m in trained for p in m.parameters()]
        clear = 0
        for before, after, grad in zip(parameters, moved, grads):
            step = after.detach() - before.detach()
            assert step.abs().max() <= lr * (1 + 1e-4)
            mask = grad.abs() > 1e-5
            clear += int(mask.sum())
            torch.testing.assert_close(step[mask], -lr * grad[mask] / (grad[mask].abs() + 1e-8),
                                       rtol=0, atol=lr * 1e-3)
        assert clear > 0.5 * sum(p.numel() for p in parameters)


def test_without_cycle_and_identity_weights_those_terms_are_zero(domains):
    history = train(networks(), domains, iterations=3, cycle_weight=0, identity_weight=0.0)
    assert history["cycle"] == [0.0] * 3 and history["identity"] == [0.0] * 3
    assert all(v > 0 for v in history["adversarial"])
    only_identity = train(networks(), domains, iterations=3, cycle_weight=0.0)
    assert only_identity["cycle"] == [0.0] * 3 and all(v > 0 for v in only_identity["identity"])


def test_resume_after_an_interruption_gives_the_uninterrupted_run(domains, tmp_path):
    probe = valid_images(3, 7)

    def metric(g, f, critic_x, critic_y):
        return {"g": g(probe).mean().item(), "f": f(probe).mean().item(), "critic": critic_y(probe).norm().item()}

    options = {"evaluate": metric, "evaluate_every": 3, "decay_start": 1, "lr": 1e-3}
    full_models = networks(seed=0)
    full = train(full_models, domains, **options)

    class Interrupted(Exception):
        pass

    def interrupted_metric(*models):
        if interrupted_metric.calls == 2:      # at iteration 6: after the checkpoint at 3
            raise Interrupted
        interrupted_metric.calls += 1
        return metric(*models)

    interrupted_metric.calls = 0
    path = tmp_path / "cycle-gan.pt"
    with pytest.raises(Interrupted):
        train(networks(seed=0), domains, **{**options, "evaluate": interrupted_metric}, checkpoint=path)
    saved = load_checkpoint(path)
    assert saved["iteration"] == 3 and len(saved["pool_x"]["images"]) == 5   # the pools are full
    # The learning rate of the last iteration done (from 0: iteration 2), decayed from iteration 1.
    assert saved["generator_optimizer"]["param_groups"][0]["lr"] == pytest.approx(1e-3 * linear_decay(2, 6, 1))
    # A fresh process: other initial weights; the checkpoint restores models, optimisers, pools and rng.
    models = networks(seed=123)
    assert not torch.equal(flat(*models), flat(*full_models))
    resumed = train(models, domains, **options, checkpoint=path)
    assert load_checkpoint(path)["iteration"] == 6
    assert load_checkpoint(path)["critic_optimizer"]["param_groups"][0]["lr"] == pytest.approx(1e-3 / 5)
    for key in ("iteration", *HISTORY_KEYS):
        assert resumed[key] == full[key], key
    assert resumed["metrics"] == full["metrics"] and resumed["metrics"]["iteration"] == [0, 3, 6]
    for model, reference in zip(models, full_models):
        assert torch.equal(flat(model), flat(reference))
    # Asking again for as many iterations trains no more.
    again = train(models, domains, **options, checkpoint=path)
    assert again["adversarial"] == full["adversarial"] and torch.equal(flat(*models), flat(*full_models))


def test_a_checkpoint_with_other_settings_is_refused(domains, tmp_path):
    path = tmp_path / "cycle-gan.pt"
    train(networks(), domains, iterations=2, checkpoint=path)
    for change in ({"cycle_weight": 5.0}, {"iterations": 4}, {"pool_size": 6},
                   {"loss": WASSERSTEIN, "constraint": GradientPenalty(10)}):
        with pytest.raises(ValueError, match="other settings"):
            train(networks(), domains, **{"iterations": 2, "checkpoint": path, **change})


def test_the_wasserstein_loss_needs_a_constraint(domains):
    with pytest.raises(ValueError, match="Lipschitz constraint"):
        train(networks(), domains, loss=WASSERSTEIN)
    history = train(networks(), domains, iterations=3, loss=WASSERSTEIN, constraint=GradientPenalty(10))
    assert all(math.isfinite(v) and v > 0 for v in history["penalty"])
    clipped = networks()
    history = train(clipped, domains, iterations=3, loss=WASSERSTEIN, constraint=WeightClipping(0.01))
    assert history["penalty"] == [0.0] * 3
    assert flat(*clipped[2:]).abs().max() <= 0.01          # both critics clipped after their step
    assert flat(*clipped[:2]).abs().max() > 0.01           # the generators are not


def test_bad_training_inputs_are_refused(domains):
    x, y = domains
    for images, match in ((x.view(-1, 784), "shape"), ((x + 1) * 127.5, r"\[−1, 1\]"), ((x + 1) / 2, "background"),
                          (x[:0], "shape")):
        with pytest.raises(ValueError, match=match):
            train(networks(), (images, y))
        with pytest.raises(ValueError, match=match):
            train(networks(), (x, images))
    broken = x.clone()
    broken[0, 0, 5, 5] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        train(networks(), (broken, y))
    for label in ("cycle_weight", "identity_weight"):
        for bad in (-1.0, float("nan"), float("inf"), True, "10"):
            with pytest.raises(ValueError, match=label):
                train(networks(), domains, **{label: bad})
    for label in ("batch_size", "evaluate_every", "log_every"):
        for bad in (0, -1, 1.5, True):
            with pytest.raises(ValueError, match=label):
                train(networks(), domains, **{label: bad})
    for bad in (-1, 2.0):
        with pytest.raises(ValueError, match="iterations"):
            train(networks(), domains, iterations=bad)
    for bad in (7, -1, 1.5, True):
        with pytest.raises(ValueError, match="decay_start"):
            train(networks(), domains, decay_start=bad)
    with pytest.raises(ValueError, match="pool size"):
        train(networks(), domains, pool_size=-1)
    g, f, critic_x, critic_y = networks()
    with pytest.raises(ValueError, match="batch norm"):
        train((g, f, nn.Sequential(critic_x, nn.BatchNorm2d(1)), critic_y), domains)
    with pytest.raises(ValueError, match="batch norm"):
        train((nn.Sequential(g, nn.BatchNorm2d(1)), f, critic_x, critic_y), domains)
    with pytest.raises(ValueError, match="no parameters"):
        train((g, nn.Identity(), critic_x, critic_y), domains)
    with pytest.raises(ValueError, match="spectrally"):
        train((g, f, critic_x, critic_y), domains, loss=WASSERSTEIN, constraint=SpectralNormalization())
    with pytest.raises(TypeError, match="GANLoss"):
        train((g, f, critic_x, critic_y), domains, loss="least-squares")
    with pytest.raises(TypeError, match="LipschitzConstraint"):
        train((g, f, critic_x, critic_y), domains, constraint=10.0)
    # Nothing was trained by any refused call.
    assert torch.equal(flat(g, f, critic_x, critic_y), flat(*networks()))


class Poisonable(nn.Module):
    """A critic whose scores become NaN once ``poisoned`` is set (not part of its state)."""

    def __init__(self, critic):
        super().__init__()
        self.critic, self.poisoned = critic, False

    def forward(self, x):
        scores = self.critic(x)
        return scores * float("nan") if self.poisoned else scores


def test_a_non_finite_loss_stops_training_and_keeps_the_last_checkpoint(domains, tmp_path):
    g, f, critic_x, critic_y = networks(seed=2)
    critic_y = Poisonable(critic_y)
    snapshots = []

    def poison_after_iteration_2(*models):
        snapshots.append(flat(*models))
        if len(snapshots) == 2:                   # the evaluation at iteration 2, before its checkpoint
            critic_y.poisoned = True
        return {"calls": float(len(snapshots))}

    path = tmp_path / "cycle-gan.pt"
    options = {"iterations": 4, "evaluate_every": 2, "checkpoint": path}
    with pytest.raises(FloatingPointError, match="iteration 3"):
        train((g, f, critic_x, critic_y), domains, evaluate=poison_after_iteration_2, **options)
    assert not torch.isfinite(flat(g)).all()      # training went on with NaN until the log's check
    saved = load_checkpoint(path)
    assert saved["iteration"] == 2 and saved["history"]["iteration"] == [1, 2]
    assert all(math.isfinite(v) for key in HISTORY_KEYS for v in saved["history"][key])
    restored = networks(seed=3)
    for model, name in zip(restored, ("g", "f", "critic_x")):
        model.load_state_dict(saved[name])
    restored[3].load_state_dict({k.removeprefix("critic."): v for k, v in saved["critic_y"].items()})
    assert torch.equal(flat(*restored), snapshots[1])
    # The intact checkpoint resumes to the end with healthy critics.
    critic_y.poisoned = False
    history = train((g, f, critic_x, critic_y), domains, evaluate=lambda *models: {"calls": 0.0}, **options)
    assert history["iteration"] == [1, 2, 3, 4]
    assert all(math.isfinite(v) for key in HISTORY_KEYS for v in history[key])
    assert torch.isfinite(flat(g, f, critic_x, critic_y)).all()


def test_batches_are_drawn_with_replacement_from_both_domains(domains):
    # With one image per domain every batch is that image, so the losses follow from the two images alone.
    x, y = domains[0][:1], domains[1][:1]
    g, f, critic_x, critic_y = networks(seed=4)
    with torch.no_grad():
        expected = ((f(x) - x).abs().mean() + (g(y) - y).abs().mean()).item()
    history = train((g, f, critic_x, critic_y), (x, y), iterations=1, batch_size=3)
    assert history["identity"][0] == pytest.approx(expected, rel=1e-5)
