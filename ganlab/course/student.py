"""Student copies of the notebooks: exercise solutions removed, everything else as it is.

An exercise cell (tagged ``exercise``) holds its solution between a ``# BEGIN SOLUTION`` and an
``# END SOLUTION`` line; the student copy keeps the cell (signature, docstring, comments) and
replaces the solution lines with one ``raise NotImplementedError(...)`` at the marker's
indentation. Check cells (tagged ``check``) stay: they answer the student. The course itself
runs with the solutions in (``make run-all``); ``make student-notebooks`` writes the copies::

    python -m ganlab.course.student --out build/student [notebooks/NN_*.ipynb ...]
"""

from __future__ import annotations

import argparse
import ast
import json
import re
from pathlib import Path

from ganlab.io import atomic_write_text

__all__ = ["BEGIN", "END", "strip_solutions", "student_notebook", "exercise_cells", "main"]

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
TODO = 'raise NotImplementedError("exercise: write your code here, then run the check cell below")'
_CHECK = re.compile(r"""check\(\s*["'](\d\d\.\w+)["']""")


def strip_solutions(source: str) -> str:
    """``source`` with every ``BEGIN``/``END`` block replaced by one ``raise NotImplementedError``.

    Raises:
        ValueError: markers unbalanced or nested, or a cell without any solution block.
    """
    out: list[str] = []
    inside = False
    blocks = 0
    for n, line in enumerate(source.split("\n"), 1):
        mark = line.strip()
        if mark == BEGIN:
            if inside:
                raise ValueError(f"line {n}: {BEGIN} inside another solution block")
            inside, blocks = True, blocks + 1
            out.append(line[: len(line) - len(line.lstrip())] + TODO)
        elif mark == END:
            if not inside:
                raise ValueError(f"line {n}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN} without {END}")
    if not blocks:
        raise ValueError(f"an exercise cell needs a {BEGIN} ... {END} block")
    stripped = "\n".join(out)
    ast.parse(stripped)  # the student's cell must still be valid Python
    return stripped


def exercise_cells(nb: dict) -> list[tuple[int, list[str]]]:
    """``(index of the exercise cell, exercise ids its check cell grades)`` for every exercise
    cell of a notebook (its check cell is the next code cell tagged ``check``)."""
    cells = nb["cells"]
    found = []
    for i, cell in enumerate(cells):
        if "exercise" not in cell.get("metadata", {}).get("tags", []):
            continue
        ids: list[str] = []
        for nxt in cells[i + 1:]:
            if nxt["cell_type"] != "code":
                continue
            if "check" in nxt.get("metadata", {}).get("tags", []):
                ids = _CHECK.findall("".join(nxt["source"]))
            break
        found.append((i, ids))
    return found


def student_notebook(text: str) -> str:
    """The notebook JSON ``text`` with its exercise cells' solutions removed."""
    nb = json.loads(text)
    for i, _ in exercise_cells(nb):
        cell = nb["cells"][i]
        src = strip_solutions("".join(cell["source"]))
        parts = src.split("\n")
        cell["source"] = [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(description="write the student copies of the notebooks")
    parser.add_argument("--out", type=Path, default=root / "build" / "student")
    parser.add_argument("paths", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.paths or sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    total = 0
    for path in paths:
        text = path.read_text(encoding="utf-8")
        n = len(exercise_cells(json.loads(text)))
        atomic_write_text(args.out / path.name, student_notebook(text))
        total += n
        print(f"{args.out / path.name}: {n} exercise cell(s) without solutions")
    print(f"{len(paths)} notebooks, {total} exercise cells -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
