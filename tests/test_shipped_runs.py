"""Shipped finished runs (PRETRAINED = True): the trainer takes a finished run only when it is the
very run asked for; train_run / train_seeds load them in a pretrained session; harvesting,
pinning and downloading; and the repository's shipped files (budget, pins, notebooks)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import ganlab.course.session
from ganlab.course import shipped_runs
from ganlab.course.experiment import train_run, train_seeds
from ganlab.models import build
from ganlab.shipped import MANIFEST
from ganlab.train import CheckpointError, TrainConfig, Trainer, latest_good
from ganlab.train.checkpoint import finished_run
from tests.helpers import dcgan_pair, mlp_pair, tiny_images, tiny_points
from tests.test_colab_path import served  # noqa: F401 - the 127.0.0.1 file server fixture

ROOT = Path(__file__).resolve().parents[1]


def _model(norm: str = "batch"):
    return build("dcgan", *dcgan_pair(norm=norm))


def _cfg(folder: Path, steps: int = 6, **kw) -> TrainConfig:
    base = dict(steps=steps, batch_size=16, seed=1, device="cpu", log_every=2, sample_every=3,
                checkpoint_every=steps, checkpoint_dir=str(folder), resume=True, ema_decay=0.9,
                progress=False, precision="fp32")
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Trainer, dict]:
    """A finished 6-step DCGAN run and its latest checkpoint."""
    folder = tmp_path_factory.mktemp("run")
    trainer = Trainer(_model(), tiny_images(64), _cfg(folder))
    trainer.fit()
    return trainer, latest_good(folder)[1]


def _out(model, n: int = 8) -> torch.Tensor:
    z = torch.randn(n, 16, generator=torch.Generator().manual_seed(5))
    return model.sampling_generator().eval()(z)


def test_finished_run_drops_what_only_training_needs(trained: tuple[Trainer, dict]) -> None:
    _, state = trained
    small = finished_run(state)
    assert small["finished"] and small["networks"] == ["D", "G", "G_ema"]
    assert not {"opt", "sched", "scaler", "rng"} & set(small)
    assert all(v.dtype == torch.float16 for v in small["model"].values() if v.is_floating_point())
    assert small["model"]["G.net.1.num_batches_tracked"].dtype == torch.long
    for k, v in small["model"].items():  # rounded toward zero: clipped weights stay within their bound
        if v.is_floating_point():
            assert (v.float().abs() <= state["model"][k].float().abs()).all(), k
            assert (v.float() - state["model"][k].float()).abs().max() <= 1e-3 * max(1.0, state["model"][k].abs().max()), k
    clipped = finished_run({**state, "model": {"D.w": torch.full((5,), 0.01), "D.v": torch.tensor([-0.01, 0.3])}})
    assert clipped["model"]["D.w"].float().max() <= 0.01 and clipped["model"]["D.v"].float().min() >= -0.01
    only_g = finished_run(state, ("G", "G_ema"))
    assert {k.split(".")[0] for k in only_g["model"]} == {"G", "G_ema"}
    with pytest.raises(CheckpointError, match="match none"):
        finished_run(state, ("Q",))
    with pytest.raises(CheckpointError, match="only a finished run"):
        finished_run({**state, "step": 3})


def test_restored_run_is_the_trained_one(trained: tuple[Trainer, dict], tmp_path: Path) -> None:
    done, state = trained
    fresh = Trainer(_model(), tiny_images(64), _cfg(tmp_path / "empty"), restore=finished_run(state))
    history = fresh.fit()
    assert fresh.restored and fresh.restore_refused is None and fresh.step == 6
    assert history.losses == done.history.losses and history.steps == done.history.steps
    assert [s for s, _ in history.samples] == [s for s, _ in done.history.samples]
    assert torch.equal(history.samples[-1][1], done.history.samples[-1][1])
    with torch.no_grad():  # fp16 weights: outputs in [-1, 1] move by far less than one grey level
        diff = (_out(fresh.model) - _out(done.model)).abs().max().item()
    assert 0 < diff < 2e-2
    assert not any((tmp_path / "empty").glob("ckpt-*.pt")), "restoring writes no checkpoint"


@pytest.mark.parametrize(("change", "why"), [
    ({"steps": 8}, "trained 6 steps, this run asks for 8"),
    ({"batch_size": 8}, "config.batch_size: checkpoint 16, this run 8"),
    ({"seed": 2}, "config.seed: checkpoint 1, this run 2"),
])
def test_another_run_is_refused_and_trains(trained: tuple[Trainer, dict], tmp_path: Path,
                                           change: dict, why: str) -> None:
    _, state = trained
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    t = Trainer(model, tiny_images(64), _cfg(tmp_path, **change), restore=finished_run(state))
    t.restore_finished(finished_run(state))  # nothing is changed by a refused state
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    t.fit()
    assert not t.restored and why in t.restore_refused
    assert t.step == t.config.steps and t.history.resumed_from == 0 and t.history.steps[0] == 2


def test_refused_for_other_family_or_architecture(trained: tuple[Trainer, dict], tmp_path: Path) -> None:
    _, state = trained
    ls = Trainer(build("lsgan", *dcgan_pair()), tiny_images(64), _cfg(tmp_path / "a"))
    assert "family 'dcgan'" in ls.restore_finished(finished_run(state))
    wide = Trainer(build("dcgan", *dcgan_pair(width=16)), tiny_images(64), _cfg(tmp_path / "b"))
    wide._prepare()
    assert "do not fit this model" in wide.restore_finished(finished_run(state))


def test_networks_left_out_keep_their_initial_weights(trained: tuple[Trainer, dict], tmp_path: Path) -> None:
    done, state = trained
    model = _model()
    d_init = {k: v.clone() for k, v in model.D.state_dict().items()}
    t = Trainer(model, tiny_images(64), _cfg(tmp_path), restore=finished_run(state, ("G", "G_ema")))
    t.fit()
    assert t.restored
    assert all(torch.equal(d_init[k], v) for k, v in model.D.state_dict().items())
    with torch.no_grad():
        assert (_out(model) - _out(done.model)).abs().max().item() < 2e-2


def test_own_finished_checkpoint_comes_first(trained: tuple[Trainer, dict], tmp_path: Path) -> None:
    _, state = trained
    Trainer(_model(), tiny_images(64), _cfg(tmp_path, seed=4)).fit()  # the student's own run, seed 4
    again = Trainer(_model(), tiny_images(64), _cfg(tmp_path, seed=4), restore=finished_run(state))
    again.fit()
    assert not again.restored and again.restore_refused is None and again.step == 6


# ----- the course's helpers -----------------------------------------------------------------

@pytest.fixture
def shipping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """SHIPPED_RUNS naming a test notebook's runs, shipped into tmp_path/runs."""
    monkeypatch.delenv("GANLAB_DATA_DIR", raising=False)
    monkeypatch.setitem(shipped_runs.SHIPPED_RUNS, "05_lsgan", {"demo": shipped_runs.Ship(),
                                                                "toys": shipped_runs.Ship(("G",))})
    monkeypatch.setattr(shipped_runs, "runs_dir", lambda: tmp_path / "runs")
    return tmp_path / "runs"


def _session(tmp_path: Path, name: str, pretrained: bool):
    return ganlab.course.session.start("05_lsgan", profile="smoke", seed=0, device="cpu",
                                       results_dir=tmp_path / name, pretrained=pretrained)


def _both(S):
    image = train_run(S, "demo", build("lsgan", *dcgan_pair()), tiny_images(64), steps=6, batch_size=16,
                      precision="fp32")
    toys = train_seeds(S, "toys", lambda s: build("gan", *mlp_pair()), tiny_points(), [0, 1], steps=6,
                       batch_size=32)
    return image, toys


def test_pretrained_session_loads_shipped_runs(shipping: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    made, made_toys = _both(_session(tmp_path, "made", False))
    assert "batched_seeds" in json.loads(made_toys[0].record.read_text())["extra"]
    entries = shipped_runs.harvest(tmp_path / "made" / "checkpoints", shipping, notebooks=["05_lsgan"])
    assert sorted(e["folder"] for e in entries) == ["demo-seed0", "toys-seeds0-1"]
    capsys.readouterr()

    image, toys = _both(_session(tmp_path, "student", True))
    out = capsys.readouterr().out
    assert "PRETRAINED = True: run(s) demo, toys load" in out
    assert "PRETRAINED: shipped weights 05_lsgan__demo-seed0 (6 steps" in out
    assert image.trainer.restored and all(r.trainer.restored for r in toys)
    assert image.history.losses == made.history.losses
    for new, old in zip(toys, made_toys):
        assert new.history.losses == old.history.losses and new.history.evals == old.history.evals
        rec = json.loads(new.record.read_text())
        assert rec["extra"]["loaded_from"] == "shipped weights 05_lsgan__toys-seeds0-1"
    rec = json.loads(image.record.read_text())
    assert rec["extra"]["loaded_from"] == "shipped weights 05_lsgan__demo-seed0"
    assert rec["wall_time"] == pytest.approx(made.history.wall_time)

    # RETRAIN wins; a run with other settings is trained, saying why
    fresh = train_run(_session(tmp_path, "s2", True), "demo", build("lsgan", *dcgan_pair()), tiny_images(64),
                      steps=6, batch_size=16, precision="fp32", fresh=True)
    assert not fresh.trainer.restored
    other = train_run(_session(tmp_path, "s3", True), "demo", build("lsgan", *dcgan_pair()), tiny_images(64),
                      steps=8, batch_size=16, precision="fp32")
    assert not other.trainer.restored and "asks for 8" in other.trainer.restore_refused
    assert "loaded_from" not in json.loads(other.record.read_text())["extra"]


def test_tampered_shipped_file_is_refused_and_the_run_trains(shipping: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    _both(_session(tmp_path, "made", False))
    shipped_runs.harvest(tmp_path / "made" / "checkpoints", shipping, notebooks=["05_lsgan"])
    path = shipping / "05_lsgan__demo-seed0.pt"
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    capsys.readouterr()
    S = _session(tmp_path, "student", True)
    found = shipped_runs.find("05_lsgan", "demo-seed0", S.checkpoint_root / "shipped", download=False)
    out = capsys.readouterr().out
    assert found is None and "05_lsgan__demo-seed0 could not be loaded" in out and "sha256" in out
    run = train_run(S, "demo", build("lsgan", *dcgan_pair()), tiny_images(64), steps=6, batch_size=16,
                    precision="fp32")
    assert not run.trainer.restored and run.trainer.step == 6


def test_harvest_refuses_missing_or_unfinished_runs(shipping: Path, tmp_path: Path) -> None:
    with pytest.raises(shipped_runs.ShippedRunError, match="no finished run .*05_lsgan/demo"):
        shipped_runs.harvest(tmp_path / "nothing", shipping, notebooks=["05_lsgan"])
    S = _session(tmp_path, "made", False)
    train_run(S, "demo", build("lsgan", *dcgan_pair()), tiny_images(64), steps=6, batch_size=16,
              checkpoint_every=2)
    ckpts = sorted((S.checkpoint_root / "05_lsgan" / "demo-seed0").glob("ckpt-*.pt"))
    ckpts[-1].unlink()  # the newest (finished) one is lost: the latest good is at step 4
    with pytest.raises(shipped_runs.ShippedRunError, match="step 4 of 6"):
        shipped_runs.harvest(S.checkpoint_root, shipping, notebooks=["05_lsgan"])


def test_download_checks_pinned_manifest_then_file(shipping: Path, tmp_path: Path, served,  # noqa: F811
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    folder, base = served
    _both(_session(tmp_path, "made", False))
    remote = folder / "checkpoints" / "runs"
    shipped_runs.harvest(tmp_path / "made" / "checkpoints", remote, notebooks=["05_lsgan"])
    monkeypatch.setenv("GANLAB_CHECKPOINT_URL", base)
    cache = tmp_path / "cache"
    monkeypatch.setattr(shipped_runs, "RUNS_MANIFEST_SHA256", "0" * 64)
    assert shipped_runs.find("05_lsgan", "demo-seed0", cache) is None
    assert "not the course's file" in capsys.readouterr().out and not cache.exists()

    src = Path(shipped_runs.__file__).read_text(encoding="utf-8")
    pinned_copy = tmp_path / "shipped_runs_copy.py"
    pinned_copy.write_text(src, encoding="utf-8")
    digest = shipped_runs.pin_manifest(remote, pinned_copy)
    assert f'RUNS_MANIFEST_SHA256 = "{digest}"' in pinned_copy.read_text(encoding="utf-8")
    monkeypatch.setattr(shipped_runs, "RUNS_MANIFEST_SHA256", digest)
    state, where = shipped_runs.find("05_lsgan", "demo-seed0", cache)
    assert where == "downloaded weights 05_lsgan__demo-seed0" and state["finished"]
    assert (cache / "05_lsgan__demo-seed0.pt").is_file()
    (remote / "05_lsgan__demo-seed0.pt").unlink()  # offline from now on: the cached copy serves
    assert shipped_runs.find("05_lsgan", "demo-seed0", cache)[1] == "downloaded weights 05_lsgan__demo-seed0"

    data = bytearray((remote / "05_lsgan__toys-seeds0-1.pt").read_bytes())
    data[-50] ^= 0xFF
    (remote / "05_lsgan__toys-seeds0-1.pt").write_bytes(bytes(data))
    assert shipped_runs.find("05_lsgan", "toys-seeds0-1", cache) is None
    assert "not the course's file" in capsys.readouterr().out
    assert not (cache / "05_lsgan__toys-seeds0-1.pt").exists()


def test_only_the_listed_seeds_and_networks_ship(shipping: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    S = _session(tmp_path, "made", False)
    for seed in (0, 1):
        train_run(S, "demo", build("lsgan", *dcgan_pair()), tiny_images(64), seed=seed, steps=4, batch_size=16)
    monkeypatch.setitem(shipped_runs.SHIPPED_RUNS, "05_lsgan", {"demo": shipped_runs.Ship(("G",), seeds=(1,))})
    entries = shipped_runs.harvest(S.checkpoint_root, shipping, notebooks=["05_lsgan"])
    assert [(e["folder"], e["networks"]) for e in entries] == [("demo-seed1", ["G"])]
    capsys.readouterr()
    assert shipped_runs.find("05_lsgan", "demo-seed0", tmp_path / "c", download=False) is None
    assert capsys.readouterr().out == ""  # a seed the course does not ship: no word, it trains
    assert shipped_runs.find("05_lsgan", "demo-seed1", tmp_path / "c", download=False)[0]["networks"] == ["G"]


def test_cli_reships_one_notebook_and_keeps_the_others(shipping: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    S = _session(tmp_path, "made", False)
    _both(S)
    assert shipped_runs.main(["--from", str(S.checkpoint_root), "--out", str(shipping), "--no-pin",
                              "--notebook", "05_lsgan"]) == 0
    manifest = json.loads((shipping / "manifest.json").read_text())
    other = dict(next(iter(manifest["entries"].values())), notebook="04_dcgan", file="04_dcgan__x.pt")
    shutil.copy(shipping / next(iter(manifest["entries"].values()))["file"], shipping / other["file"])
    manifest["entries"]["04_dcgan__x"] = other  # another notebook's shipped run
    (shipping / "manifest.json").write_text(json.dumps(manifest))
    assert shipped_runs.main(["--from", str(S.checkpoint_root), "--out", str(shipping), "--no-pin",
                              "--notebook", "05_lsgan"]) == 0
    kept = json.loads((shipping / "manifest.json").read_text())["entries"]
    assert "04_dcgan__x" in kept and (shipping / "04_dcgan__x.pt").is_file()
    assert {e["notebook"] for e in kept.values()} == {"04_dcgan", "05_lsgan"}
    # a re-shipped notebook's run that is no longer listed (renamed): its entry and file go
    renamed = dict(other, notebook="05_lsgan", file="05_lsgan__old-seed0.pt")
    shutil.copy(shipping / other["file"], shipping / renamed["file"])
    manifest = json.loads((shipping / "manifest.json").read_text())
    manifest["entries"]["05_lsgan__old-seed0"] = renamed
    (shipping / "manifest.json").write_text(json.dumps(manifest))
    assert shipped_runs.main(["--from", str(S.checkpoint_root), "--out", str(shipping), "--no-pin",
                              "--notebook", "05_lsgan"]) == 0
    kept = json.loads((shipping / "manifest.json").read_text())["entries"]
    assert "05_lsgan__old-seed0" not in kept and not (shipping / "05_lsgan__old-seed0.pt").exists()
    assert "04_dcgan__x" in kept and (shipping / "04_dcgan__x.pt").is_file()
    capsys.readouterr()
    assert shipped_runs.main(["--from", str(S.checkpoint_root), "--notebook", "02_toy"]) == 2
    assert "--notebook 02_toy: not a notebook with shipped runs; accepted: " in capsys.readouterr().err


def test_not_shipped_runs_and_bad_parameter(tmp_path: Path) -> None:
    assert shipped_runs.find("05_lsgan", "lsgan_cifar10-seed0", tmp_path) is None
    assert shipped_runs.find("00_setup_and_data", "x-seed0", tmp_path) is None
    with pytest.raises(ValueError, match="PRETRAINED must be True or False, got 'yes'"):
        ganlab.course.session.start("05_lsgan", profile="smoke", results_dir=tmp_path, pretrained="yes")


# ----- what the repository ships ------------------------------------------------------------

def test_repository_ships_every_listed_run_within_budget() -> None:
    folder = ROOT / "data" / "checkpoints" / "runs"
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    from ganlab.io import sha256_file

    assert sha256_file(folder / MANIFEST) == shipped_runs.RUNS_MANIFEST_SHA256
    shipped = {(e["notebook"], e["run"]) for e in manifest["entries"].values()}
    listed = {(nb, run) for nb, runs in shipped_runs.SHIPPED_RUNS.items() for run in runs}
    assert shipped == listed
    for e in manifest["entries"].values():
        ship = shipped_runs.SHIPPED_RUNS[e["notebook"]][e["run"]]
        assert ship.networks is None or set(e["networks"]) <= set(ship.networks)
    for name, e in manifest["entries"].items():
        state, _ = shipped_runs.find(e["notebook"], e["folder"], ROOT / "nowhere", download=False)
        assert state["finished"] and state["step"] == e["steps"] == state["config"]["steps"]
        assert name == shipped_runs.entry_name(e["notebook"], e["folder"])
    total = shipped_runs.total_bytes()
    assert 0 < total <= shipped_runs.BUDGET_BYTES, f"shipped weights {total / 1e6:.1f} MB"


def test_notebooks_with_shipped_runs_take_the_parameter() -> None:
    for notebook in shipped_runs.SHIPPED_RUNS:
        cells = json.loads((ROOT / "notebooks" / f"{notebook}.ipynb").read_text(encoding="utf-8"))["cells"]
        params = next("".join(c["source"]) for c in cells if "parameters" in c["metadata"].get("tags", []))
        assert "PRETRAINED = False" in params, notebook
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        assert "pretrained=PRETRAINED" in code, notebook
