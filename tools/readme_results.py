"""Paste a profile's measured results into the README: the run-all summary and notebook 17's tables.

Usage: ``python tools/readme_results.py [--profile quick] [--readme README.md]``

Reads ``build/notebooks/<profile>/summary.json`` (written by ``make run-all``) and
``build/results/<profile>/tables/README_tables.md`` (written by notebook 17) and replaces the
README's block between ``<!-- results:<profile>:begin -->`` and ``<!-- results:<profile>:end -->``.
Nothing is retyped by hand, so the README shows exactly what the run measured. Exits 1 with a
message when a file is missing, the run had failures, or the README lacks the markers.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ganlab.io import atomic_write_text  # noqa: E402


def render(summary: dict, tables_md: str) -> str:
    """The README block: a run-all timing table, then notebook 17's tables one heading down."""
    rows = ["| notebook | status | minutes |", "| :--- | :--- | ---: |"]
    rows += [f"| {s['notebook']} | {s['status']} | {s['minutes']:.2f} |" for s in summary["notebooks"]]
    failed = sum(s["status"] != "ok" for s in summary["notebooks"])
    head = (f"`make run-all PROFILE={summary['profile']}`: {len(summary['notebooks'])} notebooks, "
            f"{failed} failed, **{summary['total_minutes']:.1f} min** in all (machine and date: "
            "below, from notebook 17).")
    # notebook 17 writes "## Results ..." and "### <dataset>": nest them under the README's section
    body = re.sub(r"^(#{2,5}) ", lambda m: "#" + m.group(1) + " ", tables_md.strip(), flags=re.M)
    return "\n".join([head, "", *rows, "", body, ""])


def replace_block(readme: str, profile: str, block: str) -> str:
    """``readme`` with the text between the profile's markers replaced by ``block``."""
    begin, end = f"<!-- results:{profile}:begin -->", f"<!-- results:{profile}:end -->"
    if readme.count(begin) != 1 or readme.count(end) != 1 or readme.index(begin) > readme.index(end):
        raise ValueError(f"the README needs exactly one {begin} ... {end} block")
    head, rest = readme.split(begin)
    _, tail = rest.split(end)
    return f"{head}{begin}\n{block.rstrip()}\n{end}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--build", type=Path, default=ROOT / "build")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks",
                        help="the course's notebooks: the summary must cover all of them")
    args = parser.parse_args(argv)
    summary_path = args.build / "notebooks" / args.profile / "summary.json"
    tables_path = args.build / "results" / args.profile / "tables" / "README_tables.md"
    for path in (summary_path, tables_path):
        if not path.is_file():
            print(f"{path} is missing: run `make run-all PROFILE={args.profile}` first", file=sys.stderr)
            return 1
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    course = sorted(p.name for p in args.notebooks.glob("[0-9][0-9]_*.ipynb"))
    ran = {s["notebook"] for s in summary["notebooks"]}
    if summary.get("complete") is False or not set(course) <= ran:
        print(f"{summary_path}: not a run of the whole course (missing: {sorted(set(course) - ran)}); "
              f"run `make run-all PROFILE={args.profile}` without NOTEBOOKS=", file=sys.stderr)
        return 1
    if summary.get("pretrained"):
        print(f"{summary_path}: a PRETRAINED run (shipped runs loaded, not trained); publish a run that "
              "trained everything", file=sys.stderr)
        return 1
    if summary.get("profile") != args.profile or any(s["status"] != "ok" for s in summary["notebooks"]):
        print(f"{summary_path}: not a clean {args.profile} run; fix the failures before publishing",
              file=sys.stderr)
        return 1
    try:
        text = replace_block(args.readme.read_text(encoding="utf-8"), args.profile,
                             render(summary, tables_path.read_text(encoding="utf-8")))
    except ValueError as err:
        print(f"{args.readme}: {err}", file=sys.stderr)
        return 1
    atomic_write_text(args.readme, text)
    print(f"{args.readme}: {args.profile} results updated ({summary['total_minutes']:.1f} min run)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
