"""Execute the course notebooks headlessly with papermill: ``python -m ganlab.course.runner``.

Runs every ``notebooks/NN_*.ipynb`` in syllabus order (17, the comparison tables, after all the
others so it sees their records) into ``build/notebooks/<profile>/``, keeps going past a
failing notebook, prints a summary (notebook, status, minutes), writes it as
``summary.json`` beside the executed copies (``summary-partial.json`` when only some of the course's
notebooks ran, so a partial run never replaces the whole course's summary), and exits non-zero if
any notebook failed.

``--jobs N`` runs N notebooks at a time, each in its own papermill process with
``OMP_NUM_THREADS`` = CPU cores / N (small GAN nets use two cores poorly, so two one-thread
notebooks beat one two-thread notebook on a 2-core machine); ``--gpus 0,1`` runs one notebook per
GPU (``CUDA_VISIBLE_DEVICES``). The longest notebooks (by the last summary) start first; 17 waits
for all the others (it reads their records). The summary lists the notebooks in course order,
as a serial run does.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ganlab.io import atomic_write_json

__all__ = ["course_order", "run_notebooks", "run_parallel", "parse_gpus", "main"]

TABLES = "17_"


def course_order(paths: list[Path]) -> list[Path]:
    """Syllabus order by number, with the comparison-table notebook (17) last."""
    return sorted(paths, key=lambda p: (p.name.startswith(TABLES), p.name))


def run_notebooks(notebooks: list[Path], out_dir: Path, parameters: dict[str, object],
                  cwd: Path, timeout: int | None = None) -> list[dict[str, object]]:
    """Execute each notebook; return ``[{"notebook", "status", "minutes", "error"}]``."""
    import papermill as pm

    out_dir.mkdir(parents=True, exist_ok=True)
    summary = []
    for path in notebooks:
        t0 = time.perf_counter()
        print(f"==> {path.name} ({parameters.get('PROFILE')})", flush=True)
        status, error = "ok", ""
        try:
            pm.execute_notebook(str(path), str(out_dir / path.name), parameters=parameters,
                                cwd=str(cwd), kernel_name="python3", progress_bar=False,
                                execution_timeout=timeout)
        except Exception as exc:  # papermill wraps the cell's error; keep going
            status = "FAILED"
            error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
            print(f"    failed: {error}", flush=True)
        minutes = (time.perf_counter() - t0) / 60
        summary.append({"notebook": path.name, "status": status, "minutes": round(minutes, 2),
                        "error": error})
    return summary


def parse_gpus(text: str | None) -> list[str]:
    """``"0,1"`` -> ``["0", "1"]`` (CUDA device indices); ``None`` or ``""`` -> ``[]``.

    Raises:
        ValueError: an entry is not a non-negative integer, or one is repeated.
    """
    if not text:
        return []
    gpus = [g.strip() for g in str(text).split(",")]
    if not all(g.isdigit() for g in gpus) or len(set(gpus)) != len(gpus):
        raise ValueError(f"--gpus takes distinct device indices like 0,1,2; got {text!r}")
    return gpus


def _error_line(text: str) -> str:
    """The last line of a papermill failure that names the exception."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    named = [ln for ln in lines if "Error" in ln or "Exception" in ln]
    return (named or lines or ["unknown error"])[-1][:500]


def _run_one(path: Path, out_dir: Path, parameters: dict[str, object], cwd: Path,
             timeout: int | None, env: dict[str, str]) -> dict[str, object]:
    cmd = [sys.executable, "-m", "papermill", str(path), str(out_dir / path.name),
           "-y", json.dumps(parameters), "--cwd", str(cwd), "-k", "python3", "--no-progress-bar"]
    if timeout:
        cmd += ["--execution-timeout", str(timeout)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    minutes = (time.perf_counter() - t0) / 60
    ok = proc.returncode == 0
    return {"notebook": path.name, "status": "ok" if ok else "FAILED", "minutes": round(minutes, 2),
            "error": "" if ok else _error_line(proc.stderr or proc.stdout)}


def run_parallel(notebooks: list[Path], out_dir: Path, parameters: dict[str, object], cwd: Path,
                 jobs: int, gpus: list[str] | None = None, timeout: int | None = None,
                 previous: dict[str, float] | None = None) -> list[dict[str, object]]:
    """Execute ``notebooks`` ``jobs`` at a time (one per GPU of ``gpus`` if given); the comparison
    notebook (17) after all the others. Returns the summary in ``notebooks``' order.

    Args:
        previous: minutes per notebook name from an earlier run: the longest start first.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    gpus = list(gpus or [])
    jobs = len(gpus) if gpus else max(1, int(jobs))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    slots = list(gpus) if gpus else [None] * jobs
    free: list[str | None] = list(slots)
    lock = threading.Lock()
    prev = previous or {}

    def work(path: Path) -> dict[str, object]:
        with lock:
            slot = free.pop()
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        if slot is not None:
            env["CUDA_VISIBLE_DEVICES"] = slot
        print(f"==> {path.name} ({parameters.get('PROFILE')}"
              f"{', GPU ' + slot if slot is not None else f', {threads} thread(s)'})", flush=True)
        try:
            result = _run_one(path, out_dir, parameters, cwd, timeout, env)
        finally:
            with lock:
                free.append(slot)
        print(f"<== {path.name}: {result['status']} in {result['minutes']:.2f} min"
              + (f" ({result['error']})" if result["error"] else ""), flush=True)
        return result

    first = [p for p in notebooks if not p.name.startswith(TABLES)]
    last = [p for p in notebooks if p.name.startswith(TABLES)]
    results: dict[str, dict[str, object]] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        order = sorted(first, key=lambda p: -prev.get(p.name, 0.0))
        for r in pool.map(work, order):
            results[str(r["notebook"])] = r
    for path in last:
        results[path.name] = work(path)
    return [results[p.name] for p in notebooks]


def _print_summary(summary: list[dict[str, object]], total_minutes: float) -> None:
    width = max([len(str(s["notebook"])) for s in summary] + [8])
    print()
    print(f"{'notebook':<{width}}  status  minutes")
    for s in summary:
        print(f"{s['notebook']!s:<{width}}  {s['status']!s:<6}  {s['minutes']:>7.2f}")
    failed = sum(s["status"] != "ok" for s in summary)
    print(f"{len(summary)} notebooks, {failed} failed, {total_minutes:.1f} min in all")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--profile", default="quick", choices=("smoke", "quick", "full"))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--results-dir", default=None)
    parser.add_argument("--out", type=Path, default=None, help="default: build/notebooks/<profile>")
    parser.add_argument("--timeout", type=int, default=None, help="seconds per cell")
    parser.add_argument("--jobs", type=int, default=1,
                        help="notebooks at a time (each with cores/jobs threads); 1 = one after another")
    parser.add_argument("--gpus", default="", help="comma-separated CUDA devices: one notebook per GPU")
    parser.add_argument("--pretrained", action="store_true",
                        help="PRETRAINED = True: load the notebooks' shipped headline runs instead of "
                             "training them (default out / results: <profile>-pretrained)")
    args = parser.parse_args(argv)
    try:
        gpus = parse_gpus(args.gpus)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.jobs < 1:
        print(f"--jobs must be >= 1, got {args.jobs}", file=sys.stderr)
        return 2

    root = Path.cwd()
    nb_dir = root / "notebooks"
    paths = args.notebooks or sorted(nb_dir.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        print(f"no notebooks found in {nb_dir}", file=sys.stderr)
        return 2
    missing = [p for p in paths if not p.is_file()]
    if missing:
        print(f"not found: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    flavour = args.profile + ("-pretrained" if args.pretrained else "")
    out = args.out or root / "build" / "notebooks" / flavour
    results = args.results_dir or str(root / "build" / "results" / flavour)
    cwd = nb_dir if nb_dir.is_dir() else root
    # Paths relative to the notebooks' working folder: executed copies carry no home folders.
    params: dict[str, object] = {"PROFILE": args.profile, "DEVICE": args.device, "SEED": args.seed,
                                 "RESULTS_DIR": os.path.relpath(Path(results).resolve(), cwd)}
    if args.pretrained:
        params["PRETRAINED"] = True
    if args.data_dir:
        params["DATA_DIR"] = os.path.relpath(Path(args.data_dir).resolve(), cwd)
    course = {p.resolve() for p in nb_dir.glob("[0-9][0-9]_*.ipynb")}
    complete = course <= {p.resolve() for p in paths}
    t0 = time.perf_counter()
    ordered = course_order(list(paths))
    if args.jobs > 1 or gpus:
        if gpus and args.device == "auto":
            params["DEVICE"] = "cuda"
        previous = {}
        for name in ("summary.json", "summary-partial.json"):
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                previous.update({s["notebook"]: float(s["minutes"])
                                 for s in json.loads((out / name).read_text(encoding="utf-8"))["notebooks"]})
        summary = run_parallel(ordered, out, params, cwd, jobs=args.jobs, gpus=gpus,
                               timeout=args.timeout, previous=previous)
    else:
        summary = run_notebooks(ordered, out, params, cwd=cwd, timeout=args.timeout)
    total = (time.perf_counter() - t0) / 60
    _print_summary(summary, total)
    # Only a run of the whole course is *the* summary (make readme-results publishes it); a run of
    # some notebooks (make run-all NOTEBOOKS=...) is kept beside it and leaves it untouched.
    name = "summary.json" if complete else "summary-partial.json"
    atomic_write_json(out / name, {"profile": args.profile, "total_minutes": round(total, 2),
                                   "complete": complete, "pretrained": args.pretrained,
                                   "jobs": len(gpus) or args.jobs,
                                   "gpus": gpus, "notebooks": summary})
    if not complete:
        print(f"partial run ({len(paths)} of {len(course)} notebooks): wrote {name}; "
              "the whole course's summary.json is kept")
    return 1 if any(s["status"] != "ok" for s in summary) else 0


if __name__ == "__main__":
    raise SystemExit(main())
