"""Stamp the common setup cell and header badge into every notebook, and strip outputs.

Usage: ``python tools/stamp_notebooks.py [--check] [notebooks/*.ipynb]``

Cell 1 (markdown) must start with the notebook's title line; the Colab badge line after it is
(re)written. Cell 2 becomes the setup cell rendered from ``ganlab/course/templates/setup_cell.py`` with
the repository and ref from ``course.toml``. ``--check`` changes nothing and exits 1 when a
notebook differs from what stamping would produce (used by the tests and CI).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ganlab.course.stamping import normalise_notebook  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report differences, write nothing")
    parser.add_argument("paths", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.paths or sorted((ROOT / "notebooks").glob("*.ipynb"))
    stale = []
    for path in paths:
        before = path.read_text(encoding="utf-8")
        after = normalise_notebook(before, path.stem)
        if before != after:
            stale.append(path)
            if not args.check:
                path.write_text(after, encoding="utf-8")
    verb = "would change" if args.check else "stamped"
    for path in stale:
        print(f"{verb}: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    raise SystemExit(main())
