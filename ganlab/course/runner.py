"""Execute the course notebooks headlessly with papermill: ``python -m ganlab.course.runner``.

Runs every ``notebooks/NN_*.ipynb`` in syllabus order (17, the comparison tables, after all the
others so it sees their records) into ``build/notebooks/<profile>/``, keeps going past a
failing notebook, prints a summary (notebook, status, minutes), writes it as
``summary.json`` beside the executed copies (``summary-partial.json`` when only some of the course's
notebooks ran, so a partial run never replaces the whole course's summary), and exits non-zero if
any notebook failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from ganlab.io import atomic_write_json

__all__ = ["course_order", "run_notebooks", "main"]

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
    args = parser.parse_args(argv)

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
    out = args.out or root / "build" / "notebooks" / args.profile
    results = args.results_dir or str(root / "build" / "results" / args.profile)
    cwd = nb_dir if nb_dir.is_dir() else root
    # Paths relative to the notebooks' working folder: executed copies carry no home folders.
    params: dict[str, object] = {"PROFILE": args.profile, "DEVICE": args.device, "SEED": args.seed,
                                 "RESULTS_DIR": os.path.relpath(Path(results).resolve(), cwd)}
    if args.data_dir:
        params["DATA_DIR"] = os.path.relpath(Path(args.data_dir).resolve(), cwd)
    course = {p.resolve() for p in nb_dir.glob("[0-9][0-9]_*.ipynb")}
    complete = course <= {p.resolve() for p in paths}
    t0 = time.perf_counter()
    summary = run_notebooks(course_order(list(paths)), out, params, cwd=cwd, timeout=args.timeout)
    total = (time.perf_counter() - t0) / 60
    _print_summary(summary, total)
    # Only a run of the whole course is *the* summary (make readme-results publishes it); a run of
    # some notebooks (make run-all NOTEBOOKS=...) is kept beside it and leaves it untouched.
    name = "summary.json" if complete else "summary-partial.json"
    atomic_write_json(out / name, {"profile": args.profile, "total_minutes": round(total, 2),
                                   "complete": complete, "notebooks": summary})
    if not complete:
        print(f"partial run ({len(paths)} of {len(course)} notebooks): wrote {name}; "
              "the whole course's summary.json is kept")
    return 1 if any(s["status"] != "ok" for s in summary) else 0


if __name__ == "__main__":
    raise SystemExit(main())
