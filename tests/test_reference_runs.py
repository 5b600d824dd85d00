"""The reference runs the book shows: they load into today's models and come from today's code.

The committed runs (reference_runs/) are checked by name; the machinery that
makes them (train, skip when current, refuse a corrupt file, see a code change)
on a tiny run of its own in a temporary folder.
"""

import json

import pytest
import torch

from course_utils import reference_runs as rr

NAMES = list(rr.REFERENCE_RUNS)


@pytest.mark.parametrize("name", NAMES)
def test_committed_run_comes_from_todays_code_and_settings(name):
    reasons = rr.stale_reasons(name)
    assert not reasons, (f"{name}: {'; '.join(reasons)}. Regenerate it with "
                         f"python -m course_utils.reference_runs {name}")


@pytest.mark.parametrize("name", NAMES)
def test_committed_run_loads_into_todays_models(name):
    run = rr.load_reference_run(name, device="cpu")
    manifest, history = run.manifest, run.history
    settings = rr.REFERENCE_RUNS[name]
    length = settings["steps"] if settings["kind"] == "critic" else settings["iterations"]
    assert history["iteration"][-1] == manifest["iterations"] == length
    final = {key: values[-1] for key, values in history["metrics"].items()
             if isinstance(values[-1], (int, float))}
    assert final == manifest["final"]
    text = json.dumps(manifest)
    assert "/home/" not in text and "/work/" not in text and "/tmp/" not in text   # no machine paths
    kind = manifest["settings"]["kind"]
    if kind == "cyclegan":      # two translators and two critics; an evaluation every 250 iterations
        assert len(history["metrics"]["iteration"]) == length // settings["evaluate_every"] + 1
        images = torch.rand(8, 1, 28, 28) * 2 - 1
        with torch.no_grad():
            for translator, critic in ((run.generator["g"], run.critic["y"]), (run.generator["f"], run.critic["x"])):
                translated = translator(images)
                assert translated.shape == images.shape and translated.abs().max() <= 1
                assert critic(translated).shape == (8, 1, 7, 7) and torch.isfinite(critic(translated)).all()
        return
    if kind == "stacked":       # colour images; an evaluation every 500 iterations
        assert len(history["metrics"]["iteration"]) == length // settings["evaluate_every"] + 1
        with torch.no_grad():
            images = run.generator(torch.randn(8, settings["latent_dim"]))
            scores = run.critic(images)
        assert images.shape == (8, 3, 28, 28) and images.abs().max() <= 1
        assert scores.shape == (8, 1) and torch.isfinite(scores).all()
        assert history["metrics"]["samples"][-1].shape == (36, 3, 28, 28)
        # the modes of 10,000 images, and the real images' ceiling read the same way
        assert 1 <= manifest["final"]["modes"] <= 1000 and manifest["ceiling"]["modes"] >= 990
        return
    if kind == "critic":        # Figure 1's critics: no generator, one final evaluation
        assert run.generator is None
        samples = torch.randn(8, 2)
    else:                       # at least 20 evaluations along the run, for the correlations
        assert len(history["metrics"]["iteration"]) >= 21
        latent_dim = 2 if kind == "toy" else manifest["settings"]["latent_dim"]
        with torch.no_grad():
            samples = run.generator(torch.randn(8, latent_dim))
    with torch.no_grad():       # the Sinkhorn GAN on pixels has no critic
        scores = torch.zeros(1) if run.critic is None else run.critic(samples)
    assert torch.isfinite(samples).all() and torch.isfinite(scores).all()
    assert (run.critic is None) == (manifest["settings"].get("cost") == "pixel")


@pytest.fixture
def tiny_run(tmp_path, monkeypatch):
    settings = dict(kind="toy", dataset="8gaussians", variant="wgan-gp", width=16, lr_scale=2.0,
                    penalty_weight=0.1, iterations=20, evaluate_every=10, samples=100, seed=0)
    monkeypatch.setitem(rr.REFERENCE_RUNS, "toy-tiny", settings)
    manifest = rr.train_reference_run("toy-tiny", device="cpu", folder=tmp_path, progress=False)
    return tmp_path, manifest


def test_a_trained_run_is_current_and_skipped_next_time(tiny_run):
    folder, manifest = tiny_run
    assert rr.stale_reasons("toy-tiny", folder) == []
    assert manifest["iterations"] == 20 and manifest["critic steps"] == 100
    assert (folder / ".work" / "toy-tiny.pt").exists()     # kept: more iterations resume from it
    before = (folder / "toy-tiny.pt").read_bytes()
    again = rr.train_reference_run("toy-tiny", device="cpu", folder=folder, progress=False)
    assert again == manifest and (folder / "toy-tiny.pt").read_bytes() == before


def test_a_changed_module_or_setting_makes_a_run_stale(tiny_run, monkeypatch):
    folder, manifest = tiny_run
    path = folder / "toy-tiny.json"
    edited = json.loads(path.read_text())
    edited["code"]["modules"]["course_utils.training"] = "0" * 64
    path.write_text(json.dumps(edited))
    assert rr.stale_reasons("toy-tiny", folder) == ["course_utils.training changed since it was trained"]
    path.write_text(json.dumps(manifest))
    monkeypatch.setitem(rr.REFERENCE_RUNS["toy-tiny"], "iterations", 30)
    assert rr.stale_reasons("toy-tiny", folder) == ["its settings differ from REFERENCE_RUNS"]


def test_a_history_survives_its_file_to_the_precision_stored():
    fake = [torch.randn(4, 2), torch.randn(4, 2)]
    surface = [torch.randn(3, 3), torch.randn(3, 3)]
    history = {"iteration": [1, 2, 3], "critic_loss": [0.1, -1 / 3, 2.5e-7],
               "metrics": {"iteration": [0, 2], "exact W1": [1 / 3, 0.25], "fake": fake,
                           "surface": surface}}
    stored = rr._compact(history)
    back = rr._expand(stored)
    assert back["iteration"] == [1, 2, 3]
    # per-iteration series in float32: seven significant digits, not the float64 values
    assert back["critic_loss"] == pytest.approx(history["critic_loss"], rel=1e-7)
    assert back["critic_loss"] != history["critic_loss"]
    # evaluations in float64, samples as they were
    assert back["metrics"]["iteration"] == [0, 2] and back["metrics"]["exact W1"] == [1 / 3, 0.25]
    assert all(torch.equal(a, b) for a, b in zip(back["metrics"]["fake"], fake))
    # the critic's surfaces, only drawn, in float16 on disk and float32 again when loaded
    assert stored["metrics"]["surface"].dtype == torch.float16
    assert all(b.dtype == torch.float32 and torch.allclose(a, b, rtol=1e-3, atol=1e-3)
               and not torch.equal(a, b) for a, b in zip(surface, back["metrics"]["surface"]))


def test_the_committed_runs_fit_in_64_megabytes():
    # 29.2 MB for chapters 5-8's 23 runs; the OT-GAN chapter's five add 11.3 MB (each MNIST
    # run keeps a 256-feature critic head, 1.6 MB, and up to 37 sample grids); the CycleGAN
    # chapter's five 7.8 MB (four networks, the optimiser-free weights, and 17 grids of 60 digits);
    # the Stacked MNIST chapter's six 13.0 MB (a width-32 generator, 11 grids of 36 colour images).
    files = [rr.reference_dir() / f"{name}.{ext}" for name in NAMES for ext in ("pt", "json")]
    total = sum(path.stat().st_size for path in files)
    assert total <= 64e6, f"the reference runs take {total / 1e6:.1f} MB, over the 64 MB budget"


def test_the_toy_runs_code_is_the_2d_modules_only():
    modules = rr.module_digests_for("toy")
    assert "course_utils.training" in modules and "course_utils.toy_gans" in modules
    assert "course_utils.image_gans" not in modules and "course_utils.reference_runs" not in modules


def test_a_corrupt_or_missing_run_is_refused_clearly(tiny_run, tmp_path):
    folder, _ = tiny_run
    weights = folder / "toy-tiny.pt"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(ValueError, match="not the file its manifest describes"):
        rr.load_reference_run("toy-tiny", folder=folder)
    with pytest.raises(FileNotFoundError, match="python -m course_utils.reference_runs toy-tiny"):
        rr.load_reference_run("toy-tiny", folder=tmp_path / "empty")
    with pytest.raises(ValueError, match="unknown reference run"):
        rr.load_reference_run("toy-nonsense")


def test_the_command_refuses_unknown_names_and_lists_states(tiny_run, capsys):
    folder, _ = tiny_run
    with pytest.raises(SystemExit) as exit_info:
        rr.main(["toy-nonsense", "--folder", str(folder)])
    assert exit_info.value.code == 2
    assert rr.main(["toy-tiny", "--list", "--folder", str(folder)]) == 0
    assert "current" in capsys.readouterr().out
