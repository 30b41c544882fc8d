"""The course's sources as data: papers, source reports and glossary terms per notebook.

``ganlab/course/sources.toml`` is the one place they live. From it come

* every notebook's final markdown cell, tagged ``sources`` (``## Sources``: the notebook's papers
  with links, its source reports, the glossary terms it uses), stamped by
  :func:`ganlab.course.stamping.normalise_notebook`;
* ``docs/SOURCES.md`` (:func:`sources_markdown`, written by ``tools/sources_doc.py``,
  ``make sources``; ``tests/test_sources.py`` checks the stored file equals it).

Links in the cell are relative to ``notebooks/`` (``../docs/GLOSSARY.md#critic``), so they work
when GitHub renders the notebook. Glossary anchors follow GitHub's heading rule
(:func:`github_anchor`).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "Paper",
    "Report",
    "NotebookSources",
    "load_sources",
    "notebook_sources",
    "notebook_stems",
    "sources_cell_markdown",
    "sources_markdown",
    "github_anchor",
    "SOURCES_TAG",
    "GLOSSARY_LINK",
    "SOURCES_LINK",
]

SOURCES_TAG = "sources"
GLOSSARY_LINK = "../docs/GLOSSARY.md"
SOURCES_LINK = "../docs/SOURCES.md"


@dataclass(frozen=True)
class Paper:
    """One paper: its key in the map, the citation text (Markdown) and a http(s) URL."""

    key: str
    cite: str
    url: str


@dataclass(frozen=True)
class Report:
    """One of the five source reports (``id`` = the number of its file in the seeds folder)."""

    id: str
    title: str
    kind: str
    short: str
    url: str | None = None


@dataclass(frozen=True)
class NotebookSources:
    """What one notebook cites: ``(paper, what it takes from it)`` pairs, reports, glossary headings."""

    stem: str
    papers: tuple[tuple[Paper, str], ...]
    reports: tuple[Report, ...]
    terms: tuple[str, ...]


@lru_cache(maxsize=1)
def load_sources() -> dict[str, Any]:
    """The parsed ``sources.toml`` (``papers``, ``reports``, ``notebooks`` tables), validated.

    Raises:
        ValueError: a notebook names an unknown paper or report.
    """
    text = resources.files("ganlab.course").joinpath("sources.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    for stem, entry in data["notebooks"].items():
        for item in entry.get("papers", []):
            if item["ref"] not in data["papers"]:
                raise ValueError(f"sources.toml: {stem} cites unknown paper {item['ref']!r}")
        for rid in entry.get("reports", []):
            if rid not in data["reports"]:
                raise ValueError(f"sources.toml: {stem} names unknown report {rid!r}")
    return data


def notebook_stems() -> list[str]:
    """Every notebook stem the map covers, in syllabus order."""
    return sorted(load_sources()["notebooks"])


def _paper(key: str) -> Paper:
    entry = load_sources()["papers"][key]
    return Paper(key=key, cite=entry["cite"], url=entry["url"])


def _report(rid: str) -> Report:
    entry = load_sources()["reports"][rid]
    return Report(id=rid, title=entry["title"], kind=entry["kind"], short=entry["short"], url=entry.get("url"))


def notebook_sources(stem: str) -> NotebookSources:
    """The sources of notebook ``stem``.

    Raises:
        ValueError: the stem has no entry in ``sources.toml``.
    """
    notebooks = load_sources()["notebooks"]
    if stem not in notebooks:
        raise ValueError(f"{stem}: no entry in ganlab/course/sources.toml; known: {', '.join(sorted(notebooks))}")
    entry = notebooks[stem]
    return NotebookSources(
        stem=stem,
        papers=tuple((_paper(p["ref"]), p.get("use", "")) for p in entry.get("papers", [])),
        reports=tuple(_report(r) for r in entry.get("reports", [])),
        terms=tuple(entry.get("terms", [])),
    )


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces -> ``-``."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _paper_line(paper: Paper, use: str) -> str:
    tail = f" — {use}" if use else ""
    return f"- {paper.cite} [{_url_label(paper.url)}]({paper.url}){tail}"


def _url_label(url: str) -> str:
    match = re.match(r"https?://arxiv\.org/abs/(.+)$", url)
    if match:
        return f"arXiv:{match.group(1)}"
    match = re.match(r"https?://doi\.org/(.+)$", url)
    return f"doi:{match.group(1)}" if match else url


def _report_line(report: Report) -> str:
    title = f"[*{report.title}*]({report.url})" if report.url else f"*{report.title}*"
    return f"- `{report.id}` — {title}, {report.kind}: {report.short}"


def sources_cell_markdown(stem: str) -> str:
    """The final markdown cell of notebook ``stem``: papers, reports, terms and the two doc links."""
    src = notebook_sources(stem)
    lines = ["## Sources", ""]
    if src.papers:
        lines += ["Papers this notebook implements or measures against:", ""]
        lines += [_paper_line(p, use) for p, use in src.papers]
        lines.append("")
    if src.reports:
        lines += ["Source reports it reproduces (described in [SOURCES.md](" + SOURCES_LINK + "#the-source-reports)):", ""]
        lines += [_report_line(r) for r in src.reports]
        lines.append("")
    if src.terms:
        links = ", ".join(f"[{term}]({GLOSSARY_LINK}#{github_anchor(term)})" for term in src.terms)
        lines += [f"Terms used here: {links}.", ""]
    lines.append(
        f"Definitions of every term: [the glossary]({GLOSSARY_LINK}); "
        f"the sources of every notebook: [SOURCES.md]({SOURCES_LINK})."
    )
    return "\n".join(lines)


_INTRO = """\
# Sources

The papers each notebook implements or measures against, and the five source reports the course
reproduces. Generated from `ganlab/course/sources.toml` by `make sources` (do not edit by hand:
`tests/test_sources.py` checks this file against the map); the same lists end every notebook,
stamped by `make stamp`. Where a notebook puts a paper's published number beside its own, it marks
the number [paper] (checked against the paper), [code] (the official code's defaults) or
[secondary] (quoted by later work). Terms are defined in the [glossary](GLOSSARY.md).
"""


def sources_markdown() -> str:
    """The text of ``docs/SOURCES.md``: the five reports, then every notebook's papers and reports."""
    data = load_sources()
    lines = [_INTRO, "## The source reports", ""]
    lines.append(
        "Five GAN reports are the specification of the experiments the course reproduces "
        "(architectures, hyperparameters, protocols, result tables). The notebooks name them by number."
    )
    lines.append("")
    for rid in sorted(data["reports"]):
        report = _report(rid)
        users = [s[:2] for s in notebook_stems() if rid in data["notebooks"][s].get("reports", [])]
        lines.append(f"{_report_line(report)}. Notebooks: {', '.join(users) or '—'}.")
    lines += ["", "## Per notebook", ""]
    for stem in notebook_stems():
        src = notebook_sources(stem)
        lines += [f"### [{stem}](../notebooks/{stem}.ipynb)", ""]
        lines += [_paper_line(p, use) for p, use in src.papers] or ["- (no paper)"]
        if src.reports:
            lines.append("- Source reports: " + ", ".join(f"`{r.id}` ({r.short})" for r in src.reports))
        lines.append("")
    lines += ["## All papers", ""]
    cited = {p["ref"] for entry in data["notebooks"].values() for p in entry.get("papers", [])}
    for key in sorted(data["papers"], key=lambda k: data["papers"][k]["cite"].lower()):
        if key in cited:
            paper = _paper(key)
            users = [s[:2] for s in notebook_stems() if key in {p["ref"] for p in data["notebooks"][s].get("papers", [])}]
            lines.append(f"- {paper.cite} [{_url_label(paper.url)}]({paper.url}) — notebooks {', '.join(users)}")
    return "\n".join(lines) + "\n"
