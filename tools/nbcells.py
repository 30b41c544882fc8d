"""Edit a notebook's cells from the command line (for maintainers; keeps the course's storage
rules: no outputs, no execution counts).

    python tools/nbcells.py show notebooks/03_vanilla_gan_mlp.ipynb [INDEX]
    python tools/nbcells.py replace NB INDEX FILE [--tags exercise]     # FILE: new source ('-': stdin)
    python tools/nbcells.py insert NB INDEX FILE [--markdown] [--tags check]  # before cell INDEX
    python tools/nbcells.py delete NB INDEX
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _write(path: Path, nb: dict) -> None:
    tmp = path.with_suffix(".ipynb.tmp")
    tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def _lines(text: str) -> list[str]:
    text = text.rstrip("\n")
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + [parts[-1]]


def _cell(text: str, markdown: bool, tags: list[str], with_id: bool) -> dict:
    cell = {"cell_type": "markdown" if markdown else "code", "metadata": {}, "source": _lines(text)}
    if with_id:  # nbformat >= 4.5 requires a cell id
        cell["id"] = uuid.uuid4().hex[:8]
    if tags:
        cell["metadata"]["tags"] = tags
    if not markdown:
        cell["execution_count"] = None
        cell["outputs"] = []
    return cell


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("op", choices=["show", "replace", "insert", "delete"])
    p.add_argument("nb", type=Path)
    p.add_argument("index", type=int, nargs="?")
    p.add_argument("file", nargs="?")
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--tags", nargs="*", default=None)
    a = p.parse_args(argv)
    nb = _read(a.nb)
    cells = nb["cells"]
    if a.op == "show":
        for i, c in enumerate(cells):
            if a.index is None or i == a.index:
                tags = c.get("metadata", {}).get("tags", [])
                print(f"--- [{i}] {c['cell_type']} {tags if tags else ''}\n{''.join(c['source'])}")
        return 0
    if a.op == "delete":
        del cells[a.index]
    else:
        text = sys.stdin.read() if a.file == "-" else Path(a.file).read_text(encoding="utf-8")
        with_id = (nb.get("nbformat", 4), nb.get("nbformat_minor", 0)) >= (4, 5)
        if a.op == "replace":
            old = cells[a.index]
            tags = a.tags if a.tags is not None else old.get("metadata", {}).get("tags", [])
            cells[a.index] = _cell(text, old["cell_type"] == "markdown", tags, with_id)
            if "id" in old:
                cells[a.index]["id"] = old["id"]
        else:
            cells.insert(a.index, _cell(text, a.markdown, a.tags or [], with_id))
    _write(a.nb, nb)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
