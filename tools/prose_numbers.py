"""List numbers typed by hand into notebook prose that look like measurements.

Usage: ``python tools/prose_numbers.py [notebooks/*.ipynb]``

A measured number belongs in a code cell's output, not in markdown, where it goes stale when the
run changes. This tool prints candidates, one per line: ``notebook  cell  number  context``. It
looks only at markdown cells and skips: math (``$...$``), inline code, links, the notebook's
title and Sources cells, numbers in lines or sentences that cite a published value (``paper``,
``reported``, ``Table``, ``[paper]``, ``[code]``, ``[secondary]``, a seed report number), and
plain integers that are settings rather than measurements (no decimals, no ``≈``/``~``/``about``,
no unit). It is a finder for a person to review, not a check: expect false positives.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$", re.S)
CODE = re.compile(r"`[^`]*`")
LINK = re.compile(r"\]\([^)]*\)|https?://\S+")
PUBLISHED = re.compile(
    r"\b(paper|papers|reported|reports|published|Table|table [IVX\d]|thesis'? (?:table|found)|"
    r"\[paper\]|\[code\]|\[secondary\]|the report|report (?:found|got|states)|Lucic|SNGAN's|"
    r"threshold|quick:|full:|smoke:)",
    re.I,
)
# a number with decimals, or with an "approximately" marker, or followed by a unit / percent / x
MEASURED = re.compile(
    r"(?:(?:≈|~|about |around |roughly |measured |to |from |at )\s*)?"
    r"(?<![\w.])(\d+(?:,\d{3})*(?:\.\d+)?)(\s*(?:%|×|x\b|s\b|ms\b|min\b|minutes|seconds|dB\b))?"
)
APPROX = re.compile(r"(≈|~|about|around|roughly|measured)\s*$")


def _clean(text: str) -> str:
    for pattern in (MATH, CODE, LINK):
        text = pattern.sub(" ", text)
    return text


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.;:!?])\s+|\n\s*[-*] |\n\n", text) if s.strip()]


def candidates(cell_text: str) -> list[tuple[str, str]]:
    """``(number, sentence)`` pairs in one markdown cell that look like hand-typed measurements."""
    found = []
    for sentence in _sentences(_clean(cell_text)):
        if PUBLISHED.search(sentence):
            continue
        for match in MEASURED.finditer(sentence):
            number, unit = match.group(1), match.group(2)
            before = sentence[: match.start(1)]
            decimal = "." in number
            approx = bool(APPROX.search(before[-12:]))
            if not (decimal or approx or unit):
                continue
            if re.search(r"\b(lr|learning rate|β|beta|λ|lambda|std|σ|p =|k =|ψ|N =|N=|eps|ε)\s*=?\s*$", before[-20:], re.I):
                continue  # a setting, not a measurement
            after = sentence[match.end():match.end() + 3]
            if unit and unit.strip() in {"×", "x"} and re.match(r"\s*\d", after):
                continue  # a shape such as 28 × 28
            if re.search(r"(Exercises?\s*[\d.–, and]*|\(|\[)$", before[-14:]) and not approx:
                continue  # an exercise number, a setting in parentheses or an interval
            found.append((number + (unit or ""), " ".join(sentence.split())[:160]))
    return found


def scan(path: Path) -> list[tuple[str, int, str, str]]:
    """Every candidate of one notebook as ``(stem, cell index, number, context)``."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for index, cell in enumerate(nb["cells"]):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] != "markdown" or "sources" in tags:
            continue
        text = "".join(cell["source"])
        if index == 0:
            text = "\n".join(text.split("\n")[2:])  # drop the title and badge lines
        for number, context in candidates(text):
            rows.append((path.stem, index, number, context))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Print the candidates of the given notebooks (default: all of notebooks/)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.paths or sorted((ROOT / "notebooks").glob("*.ipynb"))
    total = 0
    for path in paths:
        for stem, index, number, context in scan(path):
            print(f"{stem[:2]}  cell {index:>2}  {number:>10}  {context}")
            total += 1
    print(f"{total} candidates", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
