"""OT-GAN: the costs, the batched Sinkhorn values, the minibatch energy distance, the loop, guards."""

import math

import numpy as np
import ot
import pytest
import torch

from course_utils.entropic_ot import sinkhorn
from course_utils.models import generator_mlp
from course_utils.ot_gan import (batch_transport_costs, cosine_cost, feature_critic, feature_critic_mlp,
                                 minibatch_energy_distance, pixel_cost, toy_ot_evaluation, train_ot_gan)
from course_utils.toy_gans import toy_bench
from course_utils.training import load_checkpoint


def normal(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, dtype=dtype, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------------------------------------
# Costs and critics
# ---------------------------------------------------------------------------------------------

def test_cosine_cost_is_one_minus_the_cosine():
    u, v = normal(7, 5, seed=1), normal(9, 5, seed=2)
    cost = cosine_cost(u, v)
    assert cost.shape == (7, 9)
    by_hand = torch.tensor([[1 - float(ui @ vj) / (float(ui.norm()) * float(vj.norm())) for vj in v] for ui in u],
                           dtype=torch.float64)
    torch.testing.assert_close(cost, by_hand, rtol=0, atol=1e-12)
    assert (cost >= 0).all() and (cost <= 2).all()
    torch.testing.assert_close(cosine_cost(u, u).diagonal(), torch.zeros(7, dtype=torch.float64),
                               rtol=0, atol=1e-12)
    torch.testing.assert_close(cosine_cost(u, -u).diagonal(), torch.full((7,), 2.0, dtype=torch.float64),
                               rtol=0, atol=1e-12)


def test_cosine_cost_ignores_the_scale_of_the_features():
    u, v = normal(6, 4, seed=3), normal(8, 4, seed=4)
    s = torch.rand(6, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(5)) * 100 + 0.01
    torch.testing.assert_close(cosine_cost(s * u, 3.7 * v), cosine_cost(u, v), rtol=0, atol=1e-12)
    # …but not its sign: −u points the other way.
    assert not torch.allclose(cosine_cost(-u, v), cosine_cost(u, v))


def test_a_zero_feature_vector_gives_a_finite_cost():
    u, v = normal(3, 4, seed=6), normal(5, 4, seed=7)
    u[1] = 0
    cost = cosine_cost(u, v)
    assert torch.isfinite(cost).all()
    torch.testing.assert_close(cost[1], torch.ones(5, dtype=torch.float64))


def test_pixel_cost_is_the_mean_squared_difference():
    x = torch.rand(4, 1, 28, 28, dtype=torch.float64, generator=torch.Generator().manual_seed(8)) * 2 - 1
    y = torch.rand(6, 1, 28, 28, dtype=torch.float64, generator=torch.Generator().manual_seed(9)) * 2 - 1
    cost = pixel_cost(x, y)
    assert cost.shape == (4, 6)
    by_hand = torch.tensor([[float(((xi - yj) ** 2).sum()) / 784 for yj in y] for xi in x], dtype=torch.float64)
    torch.testing.assert_close(cost, by_hand, rtol=1e-10, atol=0)
    torch.testing.assert_close(pixel_cost(x, x).diagonal(), torch.zeros(4, dtype=torch.float64),
                               rtol=0, atol=1e-12)
    assert pixel_cost(torch.ones(1, 1, 28, 28), -torch.ones(1, 1, 28, 28)).item() == pytest.approx(4.0)


def test_bad_cost_inputs():
    with pytest.raises(ValueError, match="16 and 8 features"):
        cosine_cost(torch.randn(3, 16), torch.randn(3, 8))
    with pytest.raises(ValueError, match="non-empty"):
        cosine_cost(torch.randn(0, 4), torch.randn(3, 4))
    with pytest.raises(ValueError, match="non-empty"):
        cosine_cost(torch.randn(3, 1, 28, 28), torch.randn(3, 1, 28, 28))   # images, not features
    with pytest.raises(ValueError, match="784 and 1024 features"):
        pixel_cost(torch.randn(2, 1, 28, 28), torch.randn(2, 1, 32, 32))


def test_feature_critics_have_the_promised_shapes():
    torch.manual_seed(0)
    images = torch.randn(5, 1, 28, 28)
    assert feature_critic(width=4, features=10)(images).shape == (5, 10)
    assert feature_critic()(images).shape == (5, 256)
    assert feature_critic_mlp(width=16, features=8)(torch.randn(5, 2)).shape == (5, 8)
    assert feature_critic_mlp(width=16, features=8, in_features=3)(torch.randn(5, 3)).shape == (5, 8)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="width"):
            feature_critic(width=bad)
        with pytest.raises(ValueError, match="features"):
            feature_critic(features=bad)
        with pytest.raises(ValueError, match="width"):
            feature_critic_mlp(width=bad)


# ---------------------------------------------------------------------------------------------
# The batched transport costs
# ---------------------------------------------------------------------------------------------

def test_batch_transport_costs_match_sinkhorn_problem_by_problem():
    costs = torch.rand(4, 8, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(10)) * 3
    epsilon = 0.1
    values, plans = batch_transport_costs(costs, epsilon, tol=1e-9, max_iter=100_000)
    assert values.shape == (4,) and plans.shape == (4, 8, 10)
    torch.testing.assert_close(values, (plans * costs).sum(dim=(1, 2)), rtol=1e-12, atol=0)
    for k in range(4):
        single = sinkhorn(costs[k], epsilon=epsilon)
        assert math.isclose(values[k].item(), single.linear.item(), rel_tol=1e-8)
        torch.testing.assert_close(plans[k], single.plan, rtol=0, atol=1e-9)
    # The default tolerance, 1e-4 on the marginals, is close but not exact.
    rough, rough_plans = batch_transport_costs(costs, epsilon)
    torch.testing.assert_close(rough, values, rtol=1e-3, atol=0)
    torch.testing.assert_close(rough_plans.sum(1), torch.full((4, 10), 1 / 10, dtype=torch.float64),
                               rtol=1e-3, atol=0)


def test_batch_gradient_flows_to_the_costs_with_the_plans_held_fixed():
    costs = (torch.rand(3, 6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(11))
             .requires_grad_(True))
    values, plans = batch_transport_costs(costs, 0.2)
    assert not plans.requires_grad
    weights = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    (weights * values).sum().backward()
    torch.testing.assert_close(costs.grad, weights[:, None, None] * plans, rtol=0, atol=1e-15)


def test_bad_batch_inputs():
    costs = torch.rand(2, 3, 3)
    for epsilon in (0, -1.0, float("nan"), float("inf"), True):
        with pytest.raises(ValueError, match="epsilon"):
            batch_transport_costs(costs, epsilon)
    with pytest.raises(ValueError, match="stack of cost matrices"):
        batch_transport_costs(costs[0], 0.1)
    with pytest.raises(ValueError, match="stack of cost matrices"):
        batch_transport_costs(costs[:0], 0.1)
    broken = costs.clone()
    broken[1, 0, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite"):
        batch_transport_costs(broken, 0.1)


# ---------------------------------------------------------------------------------------------
# The minibatch energy distance
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cost", [cosine_cost, pixel_cost])
def test_minibatch_energy_distance_by_hand(cost):
    x, x2, y, y2 = (normal(12, 3, seed=20 + k) + (k >= 2) for k in range(4))
    epsilon = 0.1
    estimate = minibatch_energy_distance(x, x2, y, y2, cost=cost, epsilon=epsilon, tol=1e-10, max_iter=100_000)

    def w(u, v):
        return sinkhorn(cost(u, v), epsilon=epsilon, tol=1e-10, max_iter=100_000).linear.item()

    by_hand = 0.5 * (w(x, y) + w(x, y2) + w(x2, y) + w(x2, y2)) - w(x, x2) - w(y, y2)
    assert math.isclose(estimate.item(), by_hand, rel_tol=1e-7, abs_tol=1e-9)


def test_minibatch_energy_distance_is_differentiable_in_all_four_batches():
    batches = [normal(8, 2, seed=30 + k).requires_grad_(True) for k in range(4)]
    minibatch_energy_distance(*batches, cost=pixel_cost, epsilon=0.1).backward()
    for batch in batches:
        assert batch.grad is not None and torch.isfinite(batch.grad).all() and batch.grad.abs().max() > 0


def test_minibatch_energy_distance_is_unbiased_and_detects_a_shift():
    rng = torch.Generator().manual_seed(40)
    draws, size, epsilon = 200, 16, 0.5   # at ε = 0.1 these pixel costs take ~25× longer to solve

    def batch(shift=0.0):
        return torch.randn(size, 2, dtype=torch.float64, generator=rng) + shift

    same, biased, shifted = [], [], []
    for _ in range(draws):
        x, x2, y, y2 = batch(), batch(), batch(), batch()
        same.append(minibatch_energy_distance(x, x2, y, y2, cost=pixel_cost, epsilon=epsilon).item())
        biased.append(batch_transport_costs(pixel_cost(x, y)[None], epsilon)[0].item())
        shifted.append(minibatch_energy_distance(x, x2, batch(1.0), batch(1.0), cost=pixel_cost,
                                                 epsilon=epsilon).item())
    mean = {name: np.mean(v) for name, v in (("same", same), ("biased", biased), ("shifted", shifted))}
    se = {name: np.std(v, ddof=1) / math.sqrt(draws)
          for name, v in (("same", same), ("biased", biased), ("shifted", shifted))}
    assert abs(mean["same"]) < 3 * se["same"], (mean, se)            # zero in expectation
    assert mean["shifted"] > 10 * se["shifted"], (mean, se)          # clearly positive
    # W(X, Y) alone is biased: positive between two samples of one distribution, which
    # the X′ and Y′ terms remove.
    assert mean["biased"] > 10 * se["biased"], (mean, se)
    assert mean["biased"] > 10 * se["same"], (mean, se)


def test_bad_energy_distance_inputs():
    x = torch.randn(4, 3)
    with pytest.raises(ValueError, match="same size"):
        minibatch_energy_distance(x, x, x, torch.randn(5, 3), epsilon=0.1)
    with pytest.raises(ValueError, match="empty"):
        minibatch_energy_distance(x, x, x, torch.randn(0, 3), epsilon=0.1)
    with pytest.raises(ValueError, match="3 and 2 features"):
        minibatch_energy_distance(x, x, torch.randn(4, 2), torch.randn(4, 2), epsilon=0.1)
    for epsilon in (0, -0.5, float("nan")):
        with pytest.raises(ValueError, match="epsilon"):
            minibatch_energy_distance(x, x, x, x, epsilon=epsilon)


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

def blob(n=512):
    """Real data: a tight blob at (2, 2); an untrained generator puts its samples near 0."""
    return 2.0 + 0.1 * torch.randn(n, 2, generator=torch.Generator().manual_seed(5))


def networks(seed=0, critic=True):
    torch.manual_seed(seed)
    return generator_mlp(width=16), (feature_critic_mlp(width=16) if critic else None)


def train(generator, critic, data=None, **options):
    options = {"epsilon": 0.1, "iterations": 12, "latent_dim": 2, "batch_size": 16, "n_gen": 3,
               "progress": False, **({"cost": pixel_cost} if critic is None else {}), **options}
    return train_ot_gan(generator, critic, blob() if data is None else data, **options)


def flat(module):
    return torch.cat([p.detach().flatten() for p in module.parameters()]).clone()


def test_the_critic_steps_every_n_gen_plus_one_iterations_and_the_generator_otherwise():
    generator, critic = networks()
    snapshots = []

    def snapshot(g, c):
        snapshots.append((flat(g), flat(c)))
        return {"critic norm": float(flat(c).norm())}

    history = train(generator, critic, evaluate=snapshot, evaluate_every=1)
    assert history["iteration"] == list(range(1, 13))
    for key in ("energy", "generator_steps", "critic_steps", "time"):
        assert len(history[key]) == 12, key
    assert all(math.isfinite(e) for e in history["energy"])
    assert all(t1 >= t0 for t0, t1 in zip(history["time"], history["time"][1:]))
    critic_turns = [it % 4 == 0 for it in range(12)]                 # iterations 0, 4, 8
    assert history["critic_steps"] == list(np.cumsum(critic_turns))
    assert history["generator_steps"] == list(np.cumsum([not t for t in critic_turns]))
    assert history["critic_steps"][-1] == 3 and history["generator_steps"][-1] == 9
    assert history["metrics"]["iteration"] == list(range(13)) and len(snapshots) == 13
    for it, turn in enumerate(critic_turns):   # each network moves exactly on its own turns
        (g0, c0), (g1, c1) = snapshots[it], snapshots[it + 1]
        assert torch.equal(g0, g1) == turn, it
        assert torch.equal(c0, c1) != turn, it
    assert not critic.training and not generator.training    # the loop leaves both in eval mode
    assert all(p.requires_grad for p in critic.parameters())


def test_without_a_critic_only_the_generator_trains_and_learns():
    generator, _ = networks(critic=False)
    optimizer = torch.optim.Adam(generator.parameters(), lr=1e-2)
    history = train(generator, None, iterations=150, batch_size=32, generator_optimizer=optimizer)
    assert history["generator_steps"] == list(range(1, 151))
    assert history["critic_steps"] == [0] * 150
    first, last = np.mean(history["energy"][:10]), np.mean(history["energy"][-20:])
    assert last < 0.05 * first, (first, last)
    with torch.no_grad():
        samples = generator(torch.randn(500, 2))
    assert torch.allclose(samples.mean(0), torch.tensor([2.0, 2.0]), atol=0.3)


def test_a_cost_on_the_samples_may_be_any_function():
    generator, _ = networks(critic=False)
    history = train(generator, None, cost=lambda u, v: torch.cdist(u, v), iterations=4)
    assert history["generator_steps"] == [1, 2, 3, 4] and all(math.isfinite(e) for e in history["energy"])


def test_resume_after_an_interruption_gives_the_uninterrupted_run(tmp_path):
    z = normal(50, 2, seed=60, dtype=torch.float32)

    def metric(g, c):
        return {"mean": g(z).mean().item(), "critic": c(z).norm().item()}

    full_generator, full_critic = networks(seed=0)
    full = train(full_generator, full_critic, evaluate=metric, evaluate_every=3)

    path = tmp_path / "ot-gan.pt"
    generator, critic = networks(seed=0)
    train(generator, critic, evaluate=metric, evaluate_every=3, checkpoint=path, iterations=6)
    assert load_checkpoint(path)["iteration"] == 6
    # A fresh process: differently initialised models; the checkpoint restores everything.
    generator, critic = networks(seed=123)
    assert not torch.equal(flat(generator), flat(full_generator))
    resumed = train(generator, critic, evaluate=metric, evaluate_every=3, checkpoint=path)
    assert load_checkpoint(path)["iteration"] == 12
    for key in ("iteration", "energy", "generator_steps", "critic_steps"):
        assert resumed[key] == full[key], key
    assert resumed["metrics"] == full["metrics"]
    assert torch.equal(flat(generator), flat(full_generator))
    assert torch.equal(flat(critic), flat(full_critic))
    # Asking again for the same number of iterations trains no more.
    again = train(generator, critic, evaluate=metric, evaluate_every=3, checkpoint=path)
    assert again["energy"] == full["energy"] and torch.equal(flat(generator), flat(full_generator))


def test_a_checkpoint_with_other_settings_is_refused(tmp_path):
    path = tmp_path / "ot-gan.pt"
    train(*networks(), checkpoint=path, iterations=2)
    with pytest.raises(ValueError, match="other settings"):
        train(*networks(), checkpoint=path, iterations=4, epsilon=0.2)
    with pytest.raises(ValueError, match="other settings"):
        train(*networks(), checkpoint=path, iterations=4, n_gen=5)
    with pytest.raises(ValueError, match="other settings"):
        train(networks()[0], None, checkpoint=path, iterations=4)


def test_non_finite_data_or_samples_stop_training_before_any_update():
    # NaN data are refused up front; a generator whose samples are NaN is stopped by the
    # costs' check at the first iteration. Neither network has changed.
    data = blob(4)
    data[0, 1] = float("nan")
    for with_critic in (True, False):
        generator, critic = networks(critic=with_critic)
        before = flat(generator), (flat(critic) if with_critic else None)
        with pytest.raises(ValueError, match="data contain NaN"):
            train(generator, critic, data)
        with torch.no_grad():
            next(generator.parameters()).fill_(float("nan"))
        broken = flat(generator)
        with pytest.raises(ValueError, match="cost matrix contains NaN"):
            train(generator, critic, blob(4))
        assert torch.equal(flat(generator).nan_to_num(), broken.nan_to_num())
        if with_critic:
            assert torch.equal(flat(critic), before[1])


@pytest.mark.parametrize("option", ["iterations", "batch_size", "n_gen", "evaluate_every", "log_every"])
def test_bad_counts_are_refused(option):
    for bad in (-1, 1.5, True) + ((0,) if option != "iterations" else ()):
        with pytest.raises(ValueError, match=option):
            train(*networks(), **{option: bad})


def test_bad_training_inputs():
    for epsilon in (0, -0.1, float("inf")):
        with pytest.raises(ValueError, match="epsilon"):
            train(*networks(), epsilon=epsilon)
    for data in (torch.zeros(0, 2), torch.zeros(5), [[0.0, 1.0]]):
        with pytest.raises(ValueError, match="data must be"):
            train(*networks(), data)


def test_a_generator_optimizer_alone_still_trains_the_critic():
    generator, critic = networks()
    try:
        history = train(generator, critic, iterations=2,
                        generator_optimizer=torch.optim.Adam(generator.parameters(), lr=1e-3))
    except ValueError:   # refusing clearly would do too
        return
    assert history["critic_steps"] == [1, 1]


# ---------------------------------------------------------------------------------------------
# The toy evaluation
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bench():
    return toy_bench("8gaussians", 200)


def test_toy_evaluation_of_perfect_and_collapsed_generators(bench):
    evaluate = toy_ot_evaluation("8gaussians", bench)
    perfect = evaluate(lambda z: bench["real"].clone(), None)
    assert set(perfect) == {"exact W1", "fake", "modes", "high quality"}
    assert perfect["exact W1"] == pytest.approx(0.0, abs=1e-9)
    assert torch.equal(perfect["fake"], bench["real"])
    assert perfect["modes"] == 8 and perfect["high quality"] > 0.95
    collapsed = evaluate(lambda z: torch.zeros(len(z), 2), None)
    # Every point travels to the origin: W1 is the mean distance of the held-out points to 0.
    assert collapsed["exact W1"] == pytest.approx(bench["real"].norm(dim=1).mean().item(), rel=1e-5)
    assert collapsed["modes"] == 0 and collapsed["high quality"] == 0.0


def test_toy_evaluation_of_a_generator_and_in_training(bench):
    generator, _ = networks(critic=False)
    with torch.no_grad():   # as train_ot_gan calls it (through evaluate_models)
        values = toy_ot_evaluation("8gaussians", bench)(generator, None)
        fake = generator(bench["z"])
    assert values["exact W1"] == pytest.approx(ot.emd2([], [], ot.dist(fake.detach().numpy(),
                                                                       bench["real"].numpy(), "euclidean")))
    assert values["fake"].shape == (200, 2) and 0 <= values["modes"] <= 8 and 0 <= values["high quality"] <= 1
    history = train(generator, None, bench["train"], iterations=4,
                    evaluate=toy_ot_evaluation("8gaussians", bench), evaluate_every=2)
    metrics = history["metrics"]
    assert metrics["iteration"] == [0, 2, 4]
    assert all(len(metrics[key]) == 3 for key in ("exact W1", "fake", "modes", "high quality"))
    assert metrics["fake"][-1].shape == (200, 2)
    swissroll = toy_bench("swissroll", 50)
    with torch.no_grad():
        assert set(toy_ot_evaluation("swissroll", swissroll)(generator, None)) == {"exact W1", "fake"}
