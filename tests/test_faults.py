"""Fault tolerance: killed runs resume exactly, records are atomic, run-all survives a failure."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
import torch

from ganlab.course.records import save_record
from ganlab.io import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]

TRAIN_SCRIPT = textwrap.dedent("""
    import os, signal, sys, torch
    sys.path.insert(0, {root!r})
    from tests.helpers import dcgan_pair, tiny_images
    from ganlab.models import build
    from ganlab.train import Trainer, TrainConfig
    ckpt, out, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    G, D = dcgan_pair()
    model = build("dcgan", G, D)
    def killer(trainer, step):
        if step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
    cfg = TrainConfig(steps=10, batch_size=16, seed=5, device="cpu", precision="fp32", log_every=1,
                      checkpoint_every=3, checkpoint_dir=ckpt, resume=True, ema_decay=0.9,
                      progress=False)
    Trainer(model, tiny_images(48), cfg, callbacks=[killer]).fit()
    torch.save(model.state_dict(), out)
""")


def _train_subprocess(tmp: Path, ckpt: Path, out: Path, kill_at: int) -> subprocess.CompletedProcess:
    script = tmp / "train.py"
    script.write_text(TRAIN_SCRIPT.format(root=str(ROOT)))
    return subprocess.run([sys.executable, str(script), str(ckpt), str(out), str(kill_at)],
                          capture_output=True, text=True, timeout=300)


def test_sigkilled_run_resumes_to_identical_weights(tmp_path: Path) -> None:
    ref = _train_subprocess(tmp_path, tmp_path / "ref", tmp_path / "ref.pt", kill_at=-1)
    assert ref.returncode == 0, ref.stderr
    killed = _train_subprocess(tmp_path, tmp_path / "run", tmp_path / "run.pt", kill_at=7)
    assert killed.returncode == -9, "the run should have died by SIGKILL"
    assert not (tmp_path / "run.pt").exists()
    steps = sorted(int(p.stem.split("-")[1]) for p in (tmp_path / "run").glob("ckpt-*.pt"))
    assert steps[-1] == 6  # the last checkpoint before the kill
    again = _train_subprocess(tmp_path, tmp_path / "run", tmp_path / "run.pt", kill_at=-1)
    assert again.returncode == 0, again.stderr
    assert "Resuming from ckpt-00000006.pt" in again.stdout
    a = torch.load(tmp_path / "ref.pt", weights_only=True)
    b = torch.load(tmp_path / "run.pt", weights_only=True)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_atomic_write_leaves_old_file_when_interrupted(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "record.json"
    atomic_write_json(target, {"v": 1})

    def boom(src, dst):
        raise KeyboardInterrupt  # the moment between writing the temp file and renaming it

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_json(target, {"v": 2})
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]  # no temp file left


def test_checksum_sidecar_is_one_format_for_checkpoints_and_caches(tmp_path: Path) -> None:
    from ganlab.data.cache import load_or_build
    from ganlab.io import (
        ChecksumError,
        atomic_torch_save_checked,
        load_verified,
        read_sidecar,
        sha256_file,
        sidecar_path,
    )
    from ganlab.train.checkpoint import save_checkpoint

    pt = tmp_path / "x.pt"
    digest = atomic_torch_save_checked(pt, {"w": torch.ones(3)}, step=7)
    assert read_sidecar(pt) == {"sha256": digest, "step": 7}
    assert torch.equal(load_verified(pt, digest)["w"], torch.ones(3))
    ckpt = save_checkpoint(tmp_path / "ckpt", 5, {"step": 5})
    load_or_build(tmp_path / "cache", "k", lambda: ({"x": torch.zeros(2)}, {"n": 2}))
    for written in (ckpt, tmp_path / "cache" / "k.pt"):  # both sidecars: sha256 + the writer's fields
        assert read_sidecar(written)["sha256"] == sha256_file(written)
    assert read_sidecar(ckpt) == {"sha256": read_sidecar(ckpt)["sha256"], "step": 5}
    pt.write_bytes(pt.read_bytes()[:-10])
    with pytest.raises(ChecksumError, match="does not match its sha256"):
        load_verified(pt, digest)
    sidecar_path(pt).write_text("{not json")
    with pytest.raises(ChecksumError, match="cannot be read"):
        read_sidecar(pt)
    assert read_sidecar(tmp_path / "none.pt") is None
    with pytest.raises(ValueError, match="sha256"):
        atomic_torch_save_checked(pt, {}, sha256="x")


def test_results_dir_not_writable_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match=r"RESULTS_DIR .*a_file.* is not writable"):
        save_record(blocker / "results", notebook="nb", run="r", dataset="d", seed=0)


def test_records_hold_provenance_and_no_home_paths(tmp_path: Path) -> None:
    from ganlab.models import build
    from tests.helpers import dcgan_pair

    model = build("dcgan", *dcgan_pair())
    path = save_record(tmp_path, notebook="04_dcgan", run="dcgan", dataset="mnist5k", seed=3,
                       model=model, config={"steps": 5, "where": Path.home() / "x"},
                       metrics={"fid[mnist_cnn,N=100]": 12.5}, device="cpu")
    rec = json.loads(path.read_text())
    env = rec["environment"]
    for key in ("python", "torch", "ganlab", "git_commit", "device"):
        assert key in env
    assert rec["seed"] == 3 and rec["model"]["family"] == "dcgan"
    assert rec["metrics"] == {"fid[mnist_cnn,N=100]": 12.5}
    assert str(Path.home()) not in path.read_text()


def test_every_torch_load_is_weights_only() -> None:
    offenders = []
    for path in (ROOT / "ganlab").rglob("*.py"):
        for match in re.finditer(r"torch\.load\(([^)]*)\)", path.read_text()):
            if "weights_only=True" not in match.group(1):
                offenders.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert not offenders, offenders


def _notebook(path: Path, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('PROFILE = "quick"\nSEED = 0\nDEVICE = "auto"\n'
                                       "DATA_DIR = None\nRESULTS_DIR = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.mark.notebook
def test_run_all_keeps_going_past_a_failing_notebook(tmp_path: Path) -> None:
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    _notebook(nbs / "01_fails.ipynb", "raise RuntimeError('deliberate failure')")
    _notebook(nbs / "02_works.ipynb", "print('fine', PROFILE)")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "ganlab.course.runner", str(nbs / "01_fails.ipynb"),
         str(nbs / "02_works.ipynb"), "--profile", "smoke", "--out", str(out),
         "--results-dir", str(tmp_path / "res")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    status = {s["notebook"]: s["status"] for s in summary["notebooks"]}
    assert status == {"01_fails.ipynb": "FAILED", "02_works.ipynb": "ok"}
    assert "deliberate failure" in summary["notebooks"][0]["error"]
    assert re.search(r"01_fails\.ipynb\s+FAILED", proc.stdout)
    assert "2 notebooks, 1 failed" in proc.stdout
    assert (out / "02_works.ipynb").is_file()
    # a partial run (one notebook of the course) keeps the whole course's summary.json
    proc = subprocess.run(
        [sys.executable, "-m", "ganlab.course.runner", str(nbs / "02_works.ipynb"), "--profile", "smoke",
         "--out", str(out), "--results-dir", str(tmp_path / "res")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads((out / "summary.json").read_text()) == summary
    partial = json.loads((out / "summary-partial.json").read_text())
    assert partial["complete"] is False and [s["notebook"] for s in partial["notebooks"]] == ["02_works.ipynb"]
    assert "partial run (1 of 2 notebooks)" in proc.stdout


def test_printed_paths_hide_the_home_folder(tmp_path: Path, monkeypatch) -> None:
    from ganlab.course.session import display_path

    monkeypatch.chdir(tmp_path)
    assert display_path(tmp_path / "build" / "r") == "build/r"
    assert display_path(Path.home() / "proj" / "x") in ("~/proj/x", "proj/x")
    assert not display_path(Path.home() / "proj").startswith(str(Path.home()))


def test_bad_user_images_and_names_are_clear_value_errors() -> None:
    from ganlab.metrics import Evaluator, get_extractor
    from ganlab.models import build
    from tests.helpers import mlp_pair

    ev = Evaluator("mnist5k", extractor="mnist_cnn", n=200, metrics=("fid",))
    with pytest.raises(ValueError, match=r"images must be floats in \[-1, 1\]; got values in \[0, 255\]"):
        ev.evaluate_images(torch.full((200, 1, 28, 28), 255.0).index_fill_(0, torch.tensor([0]), 0.0))
    with pytest.raises(ValueError, match="NaN"):
        ev.evaluate_images(torch.full((200, 1, 28, 28), float("nan")))
    with pytest.raises(ValueError, match="unknown extractor 'vgg_face'; valid extractors: inception"):
        get_extractor("vgg_face")
    with pytest.raises(ValueError, match="g_loss 'wasserstein' is not known; accepted: nonsaturating, minimax"):
        build("gan", *mlp_pair(), g_loss="wasserstein")
    from ganlab.profiles import settings

    with pytest.raises(ValueError, match="profile 'fast' is not known; accepted: smoke, quick, full"):
        settings("fast")


def test_environment_yml_installs_the_package_with_dev_extras() -> None:
    text = (ROOT / "environment.yml").read_text()
    assert "- -e .[dev]" in text and "python>=3.10" in text


@pytest.mark.notebook
def test_run_all_in_parallel_keeps_the_serial_summary(tmp_path: Path) -> None:
    """--jobs 2: notebooks run two at a time with one thread each; 17 runs after all the others
    (it reads what they wrote); the summary is in course order with the failing one named."""
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    marks = tmp_path / "marks"
    marks.mkdir()
    write = ("import os, pathlib, time\n"
             "pathlib.Path({mark!r}).write_text(os.environ.get('OMP_NUM_THREADS', '?'))\n"
             "time.sleep(1)\n")
    _notebook(nbs / "01_a.ipynb", write.format(mark=str(marks / "01")))
    _notebook(nbs / "02_b.ipynb", write.format(mark=str(marks / "02")) + "raise ValueError('broken on purpose')")
    _notebook(nbs / "03_c.ipynb", write.format(mark=str(marks / "03")))
    _notebook(nbs / "17_tables.ipynb", f"import pathlib\nassert sorted(p.name for p in pathlib.Path({str(marks)!r}).iterdir()) == ['01', '02', '03']")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "ganlab.course.runner", "--jobs", "2", "--profile", "smoke", "--out", str(out),
         "--results-dir", str(tmp_path / "res")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["jobs"] == 2 and summary["complete"] is True
    assert [(s["notebook"], s["status"]) for s in summary["notebooks"]] == [
        ("01_a.ipynb", "ok"), ("02_b.ipynb", "FAILED"), ("03_c.ipynb", "ok"), ("17_tables.ipynb", "ok")]
    assert "broken on purpose" in summary["notebooks"][1]["error"]
    threads = max(1, (os.cpu_count() or 1) // 2)
    assert {(marks / m).read_text() for m in ("01", "02", "03")} == {str(threads)}
    bad = subprocess.run([sys.executable, "-m", "ganlab.course.runner", "--gpus", "0,x"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert bad.returncode == 2 and "--gpus takes distinct device indices" in bad.stderr


@pytest.mark.notebook
def test_run_all_pretrained_passes_the_parameter_and_keeps_apart(tmp_path: Path) -> None:
    """--pretrained: PRETRAINED = True in every notebook; executed copies, records and summary
    go to <profile>-pretrained folders (never the course's summary that README results use)."""
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    _notebook(nbs / "05_x.ipynb", "assert PRETRAINED is True, PRETRAINED\nprint(RESULTS_DIR)")
    proc = subprocess.run([sys.executable, "-m", "ganlab.course.runner", "--profile", "smoke", "--pretrained"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((tmp_path / "build" / "notebooks" / "smoke-pretrained" / "summary.json").read_text())
    assert summary["pretrained"] is True and summary["notebooks"][0]["status"] == "ok"
    assert not (tmp_path / "build" / "notebooks" / "smoke").exists()
    executed = (tmp_path / "build" / "notebooks" / "smoke-pretrained" / "05_x.ipynb").read_text()
    assert "results/smoke-pretrained" in executed
