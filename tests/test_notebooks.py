"""Every notebook: stored without outputs, stamped setup cell, parameters cell, and a smoke run.

The smoke run executes the notebook with papermill at ``PROFILE=smoke`` (CI's budget: 90 s per
notebook on a 2-core CPU); the notebook's own last cell asserts the smoke expectations.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ganlab.course.stamping import badge_line, normalise_notebook, setup_cell_source

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "no notebooks found"
    assert all(p.name[:2].isdigit() for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_stored_clean_and_stamped(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    cells = nb["cells"]
    for cell in cells:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{path.name}: stored with outputs"
            assert cell.get("execution_count") is None, f"{path.name}: stored with execution counts"
    assert "widgets" not in nb.get("metadata", {}), f"{path.name}: stored with widget state"
    assert "".join(cells[0]["source"]).startswith(f"# {path.stem[:2]}"), "cell 1 must be the title"
    assert badge_line(path.stem) in "".join(cells[0]["source"]), "cell 1 lacks the Colab badge"
    assert "".join(cells[1]["source"]) == setup_cell_source(), (
        f"{path.name}: setup cell differs from ganlab/course/templates/setup_cell.py; run make stamp")
    assert "parameters" in cells[2].get("metadata", {}).get("tags", []), "cell 3 must be the parameters cell"
    params = "".join(cells[2]["source"])
    for name in ("PROFILE", "SEED", "DEVICE", "DATA_DIR", "RESULTS_DIR"):
        assert f"{name} =" in params, f"{path.name}: parameters cell lacks {name}"
    assert normalise_notebook(text, path.stem) == text, f"{path.name}: run make stamp"


def test_one_setup_cell_everywhere() -> None:
    sources = {"".join(_cells(p)[1]["source"]) for p in NOTEBOOKS}
    assert len(sources) == 1


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_smoke_run(path: Path, tmp_path: Path) -> None:
    out = tmp_path / path.name
    env = {**os.environ, "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "papermill", str(path), str(out), "-p", "PROFILE", "smoke",
           "-p", "DEVICE", "cpu", "-p", "RESULTS_DIR", str(tmp_path / "results"),
           "--cwd", str(path.parent), "-k", "python3", "--no-progress-bar"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-40:])
        pytest.fail(f"{path.name} failed under papermill (smoke) after {seconds:.0f} s:\n{tail}")
    executed = json.loads(out.read_text(encoding="utf-8"))
    errors = [o for c in executed["cells"] if c["cell_type"] == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    print(f"{path.name}: smoke run {seconds:.1f} s")
