"""The course's notebook conventions as code: setup-cell template, badge, output stripping.

Used by ``tools/stamp_notebooks.py`` (to write) and by the tests (to check). Every notebook's
cell 1 is markdown starting with its ``# title``; cell 2 is the setup cell rendered from
``ganlab/course/templates/setup_cell.py`` with the repository named in ``ganlab/course/course.toml``; cell 3 is the
papermill ``parameters`` cell; the last cell is markdown tagged ``sources``, rendered from
``ganlab/course/sources.toml`` (:func:`ganlab.course.sources.sources_cell_markdown`). Notebooks are
stored without outputs, execution counts or widget state.
"""

from __future__ import annotations

import hashlib
import json
import sys
from importlib import resources

from ganlab.course.sources import SOURCES_TAG, sources_cell_markdown

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["course_config", "setup_cell_source", "badge_line", "normalise_notebook", "sources_cell", "BADGE_PREFIX"]

BADGE_PREFIX = "[![Open In Colab]"
_DEFAULT = {"repo": "ganlab/ganlab", "ref": "main"}


def course_config() -> dict[str, str]:
    """``{"repo": owner/name, "ref": ...}`` from ``ganlab/course/course.toml`` (the one place they live)."""
    text = resources.files("ganlab.course").joinpath("course.toml").read_text(encoding="utf-8")
    return {**_DEFAULT, **tomllib.loads(text)["course"]}


def setup_cell_source() -> str:
    """The setup cell's code, rendered from the template."""
    template = resources.files("ganlab.course").joinpath("templates/setup_cell.py").read_text(encoding="utf-8")
    return template.format(**course_config()).rstrip("\n")


def badge_line(stem: str) -> str:
    """Markdown Colab badge opening ``notebooks/<stem>.ipynb`` at the configured ref."""
    cfg = course_config()
    url = f"https://colab.research.google.com/github/{cfg['repo']}/blob/{cfg['ref']}/notebooks/{stem}.ipynb"
    return f"{BADGE_PREFIX}(https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def _lines(text: str) -> list[str]:
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def sources_cell(stem: str, with_id: bool) -> dict:
    """The notebook's final markdown cell (tag ``sources``); ``with_id`` for nbformat >= 4.5."""
    cell: dict = {"cell_type": "markdown"}
    if with_id:
        cell["id"] = SOURCES_TAG
    cell["metadata"] = {"tags": [SOURCES_TAG]}
    cell["source"] = _lines(sources_cell_markdown(stem))
    return cell


def _is_sources_cell(cell: dict) -> bool:
    return SOURCES_TAG in cell.get("metadata", {}).get("tags", [])


def normalise_notebook(text: str, stem: str) -> str:
    """Return the notebook JSON with badge, setup cell, sources cell and storage rules applied.

    Any cell tagged ``sources`` is removed and the current one appended as the last cell.

    Raises:
        ValueError: the notebook does not start with a markdown title cell and a code cell, or
            ``stem`` has no entry in ``ganlab/course/sources.toml``.
    """
    nb = json.loads(text)
    cells = nb.get("cells", [])
    if len(cells) < 3 or cells[0]["cell_type"] != "markdown" or cells[1]["cell_type"] != "code":
        raise ValueError(f"{stem}: expected cell 1 markdown title, cell 2 setup code, cell 3 parameters")
    head = "".join(cells[0]["source"]).split("\n")
    body = [line for line in head[1:] if not line.startswith(BADGE_PREFIX)]
    cells[0]["source"] = _lines("\n".join([head[0], badge_line(stem), *body]))
    cells[1]["source"] = _lines(setup_cell_source())
    cells[1].setdefault("metadata", {})["tags"] = ["setup"]
    cells[:] = [cell for cell in cells if not _is_sources_cell(cell)]
    cells.append(sources_cell(stem, with_id=nb.get("nbformat", 4) == 4 and nb.get("nbformat_minor", 0) >= 5))
    for cell in cells:
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cell.get("metadata", {}).pop("execution", None)
        cell.pop("id", None) if nb.get("nbformat_minor", 0) < 5 else None
    if nb.get("nbformat_minor", 0) >= 5:  # nbformat 4.5 requires ids: give missing ones a stable one
        taken = {c["id"] for c in cells if "id" in c}
        for i, cell in enumerate(cells):
            if "id" not in cell:
                digest = hashlib.sha1(f"{stem}:{i}:{''.join(cell['source'])}".encode()).hexdigest()
                new_id = next(digest[k:k + 8] for k in range(0, 32) if digest[k:k + 8] not in taken)
                cell["id"] = new_id
                taken.add(new_id)
    nb.get("metadata", {}).pop("widgets", None)
    nb.get("metadata", {}).pop("papermill", None)
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
