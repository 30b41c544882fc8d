"""Write ``docs/SOURCES.md`` from ``ganlab/course/sources.toml``.

Usage: ``python tools/sources_doc.py [--check]`` (``make sources``). ``--check`` writes nothing
and exits 1 when the stored file differs from what the map renders (the tests check the same).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ganlab.course.sources import sources_markdown  # noqa: E402

TARGET = ROOT / "docs" / "SOURCES.md"


def main(argv: list[str] | None = None) -> int:
    """Render the map; write it, or with ``--check`` report whether the stored file is current."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report a difference, write nothing")
    args = parser.parse_args(argv)
    text = sources_markdown()
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else None
    if args.check:
        if current != text:
            print(f"would change: {TARGET.relative_to(ROOT)} (run make sources)")
            return 1
        return 0
    if current != text:
        TARGET.write_text(text, encoding="utf-8")
        print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
