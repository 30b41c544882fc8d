"""python -m ganlab.train.cli: a notebook's runs trained from the command line, in one process and
under torchrun (2 gloo processes): the same records and checkpoints, which the notebook then loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch

from ganlab.train import latest_good
from ganlab.train.cli import main, notebook_cells

BODY = '''
import torch
import ganlab.course.session
from ganlab.course.experiment import train_run
from ganlab.data.dataset import Dataset, DatasetInfo
from ganlab.models import build
from ganlab.nets import DCGANDiscriminator, DCGANGenerator

S = ganlab.course.session.start("05_lsgan", profile=PROFILE, seed=SEED, device=DEVICE, data_dir=DATA_DIR,
                                results_dir=RESULTS_DIR, pretrained=PRETRAINED)
info = DatasetInfo(name="tiny", kind="image", channels=1, size=28, n_classes=None, classes=None,
                   source="random", licence="none")
ds = Dataset(info=info, images=torch.randint(0, 256, (128, 1, 28, 28), dtype=torch.uint8,
                                             generator=torch.Generator().manual_seed(0)))


def nets(norm):
    torch.manual_seed(0)
    return (DCGANGenerator(nz=16, image_size=28, channels=1, ngf=8, norm=norm),
            DCGANDiscriminator(image_size=28, channels=1, ndf=8, norm=norm))


exact = train_run(S, "exact", build("lsgan", *nets("none")), ds, steps=6, batch_size=16, precision="fp32",
                  checkpoint_every=3, log_every=1)
bn = train_run(S, "bn", build("lsgan", *nets("batch")), ds, steps=4, batch_size=16, precision="fp32", log_every=1)
assert bn.history.steps[-1] == 4 and exact.history.steps[-1] == 6
'''


def _notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    setup = nbformat.v4.new_code_cell("raise RuntimeError('the setup cell must not run')")
    setup.metadata["tags"] = ["setup"]
    params = nbformat.v4.new_code_cell('PROFILE = "quick"\nSEED = 0\nDEVICE = "auto"\nDATA_DIR = None\n'
                                       "RESULTS_DIR = None\nRETRAIN = False\nPRETRAINED = True")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [setup, params, nbformat.v4.new_code_cell("%matplotlib inline\n" + BODY)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "05_lsgan.ipynb"
    nbformat.write(nb, path)
    return path


def _cli(*args: str, torchrun: bool = False) -> subprocess.CompletedProcess[str]:
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"] if torchrun \
        else [sys.executable]
    return subprocess.run([*launcher, "-m", "ganlab.train.cli", *args], capture_output=True, text=True, timeout=600)


def _weights(results: Path, run: str) -> dict[str, torch.Tensor]:
    return latest_good(results / "checkpoints" / "05_lsgan" / f"{run}-seed0")[1]["model"]


def _record(results: Path, run: str) -> dict:
    return json.loads((results / "records" / f"05_lsgan__{run}__seed0.json").read_text())


def test_cells_skip_setup_and_magics_and_set_parameters(tmp_path: Path) -> None:
    cells = notebook_cells(_notebook(tmp_path), {"PROFILE": "smoke", "PRETRAINED": False})
    assert [i for i, _ in cells] == [1, 2]
    assert cells[0][1].endswith("PROFILE = 'smoke'\nPRETRAINED = False")
    assert cells[1][1].startswith("pass\n")


@pytest.mark.notebook
def test_torchrun_writes_the_single_process_runs_and_the_notebook_loads_them(tmp_path: Path) -> None:
    path = _notebook(tmp_path)
    one, ddp = tmp_path / "one", tmp_path / "ddp"
    single = _cli("--notebook", str(path), "--profile", "smoke", "--results-dir", str(one))
    assert single.returncode == 0, single.stdout + single.stderr
    dist = _cli("--notebook", str(path), "--profile", "smoke", "--results-dir", str(ddp), torchrun=True)
    assert dist.returncode == 0, dist.stdout + dist.stderr
    assert "2 process(es)" in dist.stdout
    assert "bn: trains in one process on rank 0 (G: BatchNorm2d" in dist.stdout  # batch norm on the CPU
    assert "Session(05_lsgan" in (ddp / "logs" / "05_lsgan.rank1.log").read_text()
    for run in ("exact", "bn"):
        a, b = _weights(one, run), _weights(ddp, run)
        assert a.keys() == b.keys()
        diff = max((a[k].float() - b[k].float()).abs().max().item() for k in a if a[k].is_floating_point())
        assert diff < 1e-4, f"{run}: max |param diff| {diff}"
        ra, rb = _record(one, run), _record(ddp, run)
        assert ra["config"]["batch_size"] == rb["config"]["batch_size"] == 16
        assert ra["history"]["steps"] == rb["history"]["steps"]
        for key, values in ra["history"]["losses"].items():
            assert rb["history"]["losses"][key] == pytest.approx(values, abs=1e-4), (run, key)
    assert not list((ddp / "records").glob("*rank*"))
    again = _cli("--notebook", str(path), "--profile", "smoke", "--results-dir", str(ddp))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Run already complete at step 6" in again.stdout and "Run already complete at step 4" in again.stdout


def test_bad_notebook_and_failing_cell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--notebook", "99_nothing"]) == 2
    assert "matches 0 notebooks" in capsys.readouterr().err
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("raise ValueError('boom')")]
    bad = tmp_path / "bad.ipynb"
    nbformat.write(nb, bad)
    assert main(["--notebook", str(bad), "--results-dir", str(tmp_path / "r")]) == 1
    assert "bad.ipynb: code cell 1 raised" in capsys.readouterr().err
