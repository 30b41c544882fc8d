"""Train a notebook's runs from the command line: in one process, or data-parallel under torchrun.

::

    torchrun --nproc_per_node=4 -m ganlab.train.cli --notebook 04_dcgan --profile full   # 4 GPUs (nccl)
    torchrun --nproc_per_node=2 -m ganlab.train.cli --notebook 10_sngan_hinge             # 2 CPU processes (gloo)
    python -m ganlab.train.cli --notebook 04_dcgan                                       # one process

Every rank executes the notebook's code cells as a script: the parameters cell with the values
given here, without the setup cell (the Colab install) and IPython magics, figures drawn
off-screen. So each ``train_run`` / ``train_seeds`` of the notebook writes exactly the
checkpoints and the record its cell would write (:mod:`ganlab.course.ranks`: data-parallel where
that follows the single-process run exactly, else on rank 0 while the others wait), and the
notebook's own checks run at the end. Afterwards the notebook, opened with the same ``PROFILE``,
``SEED`` and ``RESULTS_DIR``, finds every run finished and loads it in seconds (the course's
resume / load-if-finished contract). The notebooks themselves stay single-process.

Ranks other than 0 write what they print to ``<RESULTS_DIR>/logs/<notebook>.rank<r>.log``.
Exit status: 0 when every cell ran, 1 when one raised (named with its index), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Any

__all__ = ["notebook_cells", "main"]

_MAGIC = re.compile(r"^\s*[%!]")


def _find_notebook(name: str) -> Path:
    """``name`` as a path, or the course notebook whose stem is (or starts with) ``name``."""
    path = Path(name)
    if path.suffix == ".ipynb" and path.is_file():
        return path.resolve()
    from ganlab.course.session import repo_root

    root = repo_root() or repo_root(Path(__file__).parent)
    folder = (root / "notebooks") if root else Path("notebooks")
    found = sorted(folder.glob(f"{name}*.ipynb")) if folder.is_dir() else []
    if len(found) != 1:
        known = sorted(p.stem for p in folder.glob("[0-9][0-9]_*.ipynb")) if folder.is_dir() else []
        raise ValueError(f"--notebook {name!r} matches {len(found)} notebooks in {folder}; accepted: "
                         f"a .ipynb path or one of {', '.join(known) or '(none found)'}")
    return found[0].resolve()


def notebook_cells(path: Path, parameters: dict[str, Any]) -> list[tuple[int, str]]:
    """The notebook's code cells to execute, ``(index, source)``: the setup cell left out, the
    parameters cell followed by the given ``parameters``, IPython magics (``%``, ``!``) dropped."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    out = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        if "setup" in tags:
            continue
        src = "".join(cell["source"])
        src = "\n".join("pass" if _MAGIC.match(line) else line for line in src.splitlines())
        if "parameters" in tags:
            src += "\n" + "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
        out.append((i, src))
    return out


def _run_cells(path: Path, cells: list[tuple[int, str]]) -> int:
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": str(path)}
    for index, src in cells:
        try:
            exec(compile(src, f"<{path.stem} cell {index}>", "exec"), namespace)  # noqa: S102 - the course's own notebook
        except Exception:
            traceback.print_exc()
            print(f"error: {path.name}: code cell {index} raised (above)", file=sys.stderr)
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", required=True, help="a course notebook's stem (04_dcgan) or a .ipynb path")
    parser.add_argument("--profile", default="quick", choices=("smoke", "quick", "full"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto",
                        help="auto: this rank's device under torchrun (cuda:LOCAL_RANK or cpu)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--results-dir", default=None, help="default: the notebook's (build/results/<profile>)")
    parser.add_argument("--backend", default=None, choices=("gloo", "nccl"), help="default: nccl with CUDA, else gloo")
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        path = _find_notebook(args.notebook)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    rank, world = 0, 1
    device = args.device
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        from ganlab.train.distributed import init_from_env, rank_device

        rank, world = init_from_env(args.backend)
        if device == "auto":
            device = str(rank_device())
    results = args.results_dir
    if results is None:
        from ganlab.course.session import _default_results

        results = str(_default_results(args.profile))
    results = str(Path(results).expanduser().resolve())
    params = {"PROFILE": args.profile, "SEED": args.seed, "DEVICE": device, "RESULTS_DIR": results,
              "DATA_DIR": str(Path(args.data_dir).resolve()) if args.data_dir else None,
              "RETRAIN": False, "PRETRAINED": False}
    cells = notebook_cells(path, params)
    t0 = time.perf_counter()
    cwd = Path.cwd()
    os.chdir(path.parent)  # the working folder papermill and Jupyter give the notebook
    try:
        status = _execute(path, cells, rank, results, args.profile, world)
    finally:
        os.chdir(cwd)
    if world > 1:
        import torch.distributed as dist

        if status == 0:
            dist.barrier()
            dist.destroy_process_group()
    if rank == 0 and status == 0:
        print(f"{path.stem}: done in {(time.perf_counter() - t0) / 60:.1f} min; the notebook now loads "
              f"its finished runs (PROFILE={args.profile!r}, SEED={args.seed}, RESULTS_DIR={results!r})")
    return status


def _execute(path: Path, cells: list[tuple[int, str]], rank: int, results: str, profile: str, world: int) -> int:
    """Run the cells; rank 0 prints, the other ranks write to their log file."""
    if rank == 0:
        print(f"{path.stem}: {len(cells)} code cells, profile {profile}, {world} process(es), "
              f"results in {results}", flush=True)
        return _run_cells(path, cells)
    log = Path(results) / "logs" / f"{path.stem}.rank{rank}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as f, contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
        return _run_cells(path, cells)


if __name__ == "__main__":
    raise SystemExit(main())
