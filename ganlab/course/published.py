"""What the source reports and papers said, per row of the comparison tables.

``ganlab/course/published.toml`` holds one entry per (notebook, run-name pattern) of notebooks
02-16: a short citation by name (``source``) and what that source reported for the row or its
experiment (``said``), numbers quoted as the source gives them, or ``"—"`` when the row has no
counterpart. Notebook 17 puts them beside its tables (:func:`beside_sources_table`) and checks
that every row of notebooks 02-16 has an entry (:func:`missing_entries`)::

    entries = load_published()
    find_entry(entries, "02_toy_2d_mode_collapse", "grid25_gan").said
    # 'GAN on the grid: 17.3 ± 0.8 modes of 25, ...'

A pattern is an exact run name or a glob (``grid25_*``, ``bn_G-*``; :func:`fnmatch.fnmatchcase`).
An exact name wins over a glob; among globs the first one in the file wins. Only the course's own
values come from run records; nothing here is a measurement of ours.
"""

from __future__ import annotations

import fnmatch
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

if TYPE_CHECKING:  # pragma: no cover
    from ganlab.course.tables import DatasetTable

__all__ = [
    "NO_COUNTERPART",
    "COVERED_NOTEBOOKS",
    "Published",
    "parse_published",
    "load_published",
    "find_entry",
    "in_scope",
    "missing_entries",
    "unused_entries",
    "headline_cell",
    "beside_sources_headers",
    "beside_sources_cells",
    "beside_sources_table",
]

NO_COUNTERPART = "—"
# The notebooks whose rows must have an entry (by their two-digit number).
COVERED_NOTEBOOKS = range(2, 17)
_FIELDS = {"source", "said", "metrics", "note"}
_STEM = re.compile(r"^(\d\d)_[a-z0-9_]+$")


@dataclass(frozen=True)
class Published:
    """One entry of ``published.toml``.

    Attributes:
        notebook: notebook stem, e.g. ``"04_dcgan"``.
        pattern: the run name, or a glob over run names.
        source: short citation by name (``"bachelor thesis, Table 2"``), ``"—"`` without one.
        said: what the source reported for the row, or ``"—"`` (no counterpart).
        metrics: metric names (``"fid"``, ``"psnr[channel=Y]"``) to show beside it; empty =
            the table's first metric.
        note: why there is no counterpart, or what differs (may be empty).
    """

    notebook: str
    pattern: str
    source: str
    said: str
    metrics: tuple[str, ...] = ()
    note: str = ""

    @property
    def is_glob(self) -> bool:
        """Whether :attr:`pattern` is a glob rather than an exact run name."""
        return any(c in self.pattern for c in "*?[")

    @property
    def has_counterpart(self) -> bool:
        """False for an explicit ``"—"`` (the sources have nothing for this row)."""
        return self.said.strip() != NO_COUNTERPART

    def matches(self, notebook: str, run: str) -> bool:
        """Whether this entry is for ``run`` of ``notebook`` (exact name or glob)."""
        if notebook != self.notebook:
            return False
        return fnmatch.fnmatchcase(run, self.pattern) if self.is_glob else run == self.pattern

    def display(self) -> str:
        """The "source said" cell: :attr:`said`, and for a ``"—"`` the note in parentheses."""
        if not self.has_counterpart and self.note:
            return f"{NO_COUNTERPART} ({self.note})"
        return self.said


def parse_published(data: Mapping[str, Any]) -> list[Published]:
    """Entries from parsed TOML ``{notebook: {pattern: {source, said, [metrics], [note]}}}``.

    Raises:
        ValueError: a notebook key that is not a stem (``04_dcgan``), an entry that is not a
            table, lacks ``source`` or ``said`` (non-empty strings), has unknown keys, or has
            ``metrics`` that is not a list of strings.
    """
    entries: list[Published] = []
    for notebook, runs in data.items():
        if not _STEM.match(notebook) or not isinstance(runs, Mapping):
            raise ValueError(f"published: {notebook!r} is not a notebook stem with a table of runs")
        for pattern, entry in runs.items():
            where = f"published: {notebook} / {pattern}"
            if not isinstance(entry, Mapping):
                raise ValueError(f"{where}: not a table")
            unknown = set(entry) - _FIELDS
            if unknown:
                raise ValueError(f"{where}: unknown keys {sorted(unknown)} (allowed: {sorted(_FIELDS)})")
            for key in ("source", "said"):
                if not isinstance(entry.get(key), str) or not entry[key].strip():
                    raise ValueError(f"{where}: {key!r} must be a non-empty string ('—' for none)")
            metrics = entry.get("metrics", [])
            if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
                raise ValueError(f"{where}: 'metrics' must be a list of metric names")
            note = entry.get("note", "")
            if not isinstance(note, str):
                raise ValueError(f"{where}: 'note' must be a string")
            entries.append(Published(notebook, pattern, entry["source"].strip(), entry["said"].strip(),
                                     tuple(metrics), note.strip()))
    return entries


def load_published(path: str | Path | None = None) -> list[Published]:
    """The entries of ``path`` (default: the package's ``published.toml``), in file order."""
    if path is None:
        text = resources.files("ganlab.course").joinpath("published.toml").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return parse_published(tomllib.loads(text))


def find_entry(entries: Sequence[Published], notebook: str, run: str) -> Published | None:
    """The entry for ``run`` of ``notebook``: an exact name first, else the first matching glob."""
    globs = None
    for e in entries:
        if e.matches(notebook, run):
            if not e.is_glob:
                return e
            globs = globs or e
    return globs


def in_scope(notebook: str) -> bool:
    """Whether ``notebook``'s rows need an entry (notebooks 02-16)."""
    m = _STEM.match(str(notebook))
    return bool(m) and int(m.group(1)) in COVERED_NOTEBOOKS


def _pairs(rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """Unique (notebook, run) pairs of table rows or run records, in order."""
    return list(dict.fromkeys((str(r["notebook"]), str(r["run"])) for r in rows))


def missing_entries(rows: Iterable[Mapping[str, Any]],
                    entries: Sequence[Published]) -> list[tuple[str, str]]:
    """The (notebook, run) pairs of notebooks 02-16 among ``rows`` (table rows or records) that
    have no entry — neither a counterpart nor an explicit ``"—"``."""
    return [(nb, run) for nb, run in _pairs(rows)
            if in_scope(nb) and find_entry(entries, nb, run) is None]


def unused_entries(rows: Iterable[Mapping[str, Any]],
                   entries: Sequence[Published]) -> list[Published]:
    """Entries that no row of ``rows`` uses (runs of another profile, or renamed runs)."""
    used = {id(find_entry(entries, nb, run)) for nb, run in _pairs(rows)}
    return [e for e in entries if id(e) not in used]


def _spec_matches(key: str, spec: str) -> bool:
    """Whether metric ``key`` is what ``spec`` names: ``"fid"`` or ``"psnr[channel=Y]"``."""
    from ganlab.course.tables import _metric_name, _parsed

    name, _, rest = spec.partition("[")
    if _metric_name(key) != name:
        return False
    wanted = dict(p.split("=", 1) for p in rest.rstrip("]").split(",") if "=" in p)
    parsed = _parsed(key) or {}
    return all(str(parsed.get(k)) == v for k, v in wanted.items())


def headline_cell(table: DatasetTable, i: int, entry: Published | None) -> str:
    """Our value(s) for row ``i``: each metric the entry names (default: the table's first
    metric), as ``"<label> <mean ± std>"`` joined by ``"; "``; ``"—"`` when none is there."""
    from ganlab.course.tables import TIME_KEY, format_cell, metric_label

    shown = [k for k in table.display_keys if k != TIME_KEY]
    if entry is not None and entry.metrics:
        keys = [next((k for k in shown if _spec_matches(k, s)), None) for s in entry.metrics]
        keys = [k for k in keys if k is not None]
    else:
        keys = [k for k in shown if table.count[k][i] > 0][:1]
    parts = [f"{metric_label(k)} {format_cell(table.mean[k][i], table.std[k][i], table.count[k][i])}"
             for k in keys if table.count[k][i] > 0]
    return "; ".join(parts) or NO_COUNTERPART


def beside_sources_headers() -> list[str]:
    """Headers of the compact per-dataset table beside the sources."""
    return ["model", "notebook", "seeds", "ours (headline metric)", "source", "source said"]


def beside_sources_cells(table: DatasetTable, entries: Sequence[Published]) -> list[list[str]]:
    """One row per table row: model, notebook, seeds, our headline metric(s), source, what it
    said. A row outside notebooks 02-16 without an entry shows ``"—"``; one inside without an
    entry shows ``"MISSING"`` (notebook 17's check fails on it)."""
    from ganlab.course.tables import seeds_cell

    out = []
    for i, row in enumerate(table.rows):
        entry = find_entry(entries, str(row["notebook"]), str(row["run"]))
        if entry is None:
            source = said = "MISSING" if in_scope(str(row["notebook"])) else NO_COUNTERPART
        else:
            source, said = entry.source, entry.display()
        out.append([str(row["run"]), str(row["notebook"]), seeds_cell(int(row["seeds"])),
                    headline_cell(table, i, entry), source, said])
    return out


def beside_sources_table(table: DatasetTable, entries: Sequence[Published]) -> str:
    """The compact Markdown table beside the sources (all columns left-aligned)."""
    from ganlab.course.tables import markdown_table

    headers = beside_sources_headers()
    return markdown_table(headers, beside_sources_cells(table, entries), left=len(headers))
