"""Comparison tables from run records: one table per dataset, exported as Markdown and CSV.

Notebook 17 builds every table of the course from the JSON records that
:func:`ganlab.course.experiment.train_run` writes (see :mod:`ganlab.course.records`). This module turns those
records into numbers (mean and standard deviation over seeds, one row per notebook and run: a
pandas ``groupby``) and renders them with headers that name the extractor and N of every metric::

    fid[mnist_cnn,N=1000]            ->  "FID (mnist_cnn, N=1000)"
    precision[mnist_cnn,N=1000,k=3]  ->  "precision (mnist_cnn, N=1000, k=3)"

Nothing here knows a particular metric's key: keys are read with
:func:`ganlab.metrics.keys.parse_metric_key` (a key that is not of its form, such as a bare
``loss``, stands for itself), ordered by :data:`METRIC_ORDER` (unknown names last,
alphabetically) and non-numeric values (lists such as per-mode counts) are ignored.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganlab.io import atomic_write_text
from ganlab.metrics.keys import parse_metric_key

if TYPE_CHECKING:  # pragma: no cover
    from ganlab.course.published import Published

__all__ = [
    "METRIC_ORDER",
    "TIME_KEY",
    "metric_label",
    "find_metric",
    "numeric_metrics",
    "filter_records",
    "missing_notebooks",
    "format_cell",
    "DatasetTable",
    "dataset_table",
    "dataset_tables",
    "markdown_table",
    "write_tables",
    "readme_markdown",
    "seeds_cell",
    "attach_published",
]

# Display order of metric names (the part of a key before "["); unknown names come after.
METRIC_ORDER: tuple[str, ...] = (
    "fid", "kid", "kid_std", "is", "is_std", "inception_score", "precision", "recall", "density",
    "coverage", "classes_covered", "class_kl", "modes_covered", "mode_kl", "modes", "high_quality",
    "reverse_kl", "task_acc", "task_all", "label_kept", "l1", "psnr", "ssim", "ms_ssim", "lpips",
    "grad_w1", "grid_cv", "ppl_z", "ppl_w", "separability_z", "separability_w",
)
_DISPLAY = {"fid": "FID", "kid": "KID", "kid_std": "KID std", "is": "IS", "is_std": "IS std",
            "inception_score": "IS", "class_kl": "class KL", "classes_covered": "classes covered",
            "high_quality": "high quality", "reverse_kl": "reverse KL", "modes": "modes",
            "modes_covered": "modes covered", "mode_kl": "mode KL", "psnr": "PSNR", "ssim": "SSIM",
            "ppl_z": "PPL Z", "ppl_w": "PPL W", "separability_z": "separability Z",
            "separability_w": "separability W", "task_acc": "task acc", "task_all": "task all",
            "label_kept": "label kept", "l1": "L1", "ms_ssim": "MS-SSIM", "lpips": "LPIPS",
            "grad_w1": "gradient W1", "grid_cv": "grid CV"}
# Records keep the training time in ``wall_time``; tables show it under this column name.
TIME_KEY = "train_time_s"


def _parsed(key: str) -> dict[str, Any] | None:
    try:
        return parse_metric_key(key)
    except ValueError:
        return None


def _metric_name(key: str) -> str:
    """``"fid"`` for ``"fid[mnist_cnn,N=1000]"``; a key that is not a metric key is its own name."""
    parsed = _parsed(key)
    return key if parsed is None else parsed["metric"]


def metric_label(key: str) -> str:
    """Human header naming extractor and N: ``"FID (mnist_cnn, N=1000)"`` (other keys as they are)."""
    if key == TIME_KEY:
        return "training time (s)"
    parsed = _parsed(key)
    if parsed is None:
        return _DISPLAY.get(key, key)
    name, extractor, n = parsed.pop("metric"), parsed.pop("extractor"), parsed.pop("n")
    args = [extractor, f"N={n}", *(f"{k}={v}" for k, v in parsed.items())]
    return f"{_DISPLAY.get(name, name)} ({', '.join(args)})"


def find_metric(metrics: Mapping[str, Any] | Iterable[str], name: str) -> str | None:
    """The first key of ``metrics`` whose metric name is ``name`` (``"fid"`` finds
    ``"fid[mnist_cnn,N=1000]"``), or ``None``. Lets code read a metric without hard-coding
    its extractor and N."""
    for key in metrics:
        if _metric_name(key) == name:
            return key
    return None


def _order(key: str) -> tuple[int, str]:
    name = _metric_name(key)
    rank = METRIC_ORDER.index(name) if name in METRIC_ORDER else len(METRIC_ORDER)
    return rank, key


def _number(value: Any) -> float | None:
    """A float for int/float/bool-free scalars (inf and NaN kept); None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def numeric_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The scalar entries of a record's ``metrics`` (drops lists, strings, ``step``...)."""
    out = {}
    for k, v in metrics.items():
        if k in ("step", "wall_time"):
            continue
        num = _number(v)
        if num is not None:
            out[k] = num
    return out


def filter_records(records: Iterable[Mapping[str, Any]], *, profile: str | None = None,
                   require_metrics: bool = True,
                   require_family: bool = True) -> tuple[list[dict[str, Any]], list[str]]:
    """Records usable for tables, and a list of reasons for the ones left out.

    Args:
        profile: keep only records whose ``config["profile"]`` is this profile (records without
            a profile are kept). Quick and smoke numbers are never mixed in one table.
        require_metrics: leave out records without any numeric final metric.
        require_family: leave out records without a GAN family (``model["family"]``): numerical
            checks and other runs that trained no generator (e.g. notebook 01's critics).
    """
    kept: list[dict[str, Any]] = []
    skipped: list[str] = []
    for r in records:
        name = f"{r.get('notebook')}/{r.get('run')} (seed {r.get('seed')})"
        rec_profile = (r.get("config") or {}).get("profile")
        if profile is not None and rec_profile not in (None, profile):
            skipped.append(f"{name}: profile {rec_profile!r}, not {profile!r}")
            continue
        if not r.get("dataset"):
            skipped.append(f"{name}: no dataset")
            continue
        model = r.get("model")
        if require_family and not (isinstance(model, Mapping) and model.get("family")):
            skipped.append(f"{name}: no GAN family (not a generator training run)")
            continue
        if require_metrics and not numeric_metrics(r.get("metrics") or {}):
            skipped.append(f"{name}: no final metrics (trained without an evaluator)")
            continue
        kept.append(dict(r))
    return kept, skipped


def missing_notebooks(records: Iterable[Mapping[str, Any]], expected: Sequence[str]) -> list[str]:
    """The notebooks of ``expected`` that have no record among ``records`` (in ``expected``'s order)."""
    have = {r.get("notebook") for r in records}
    return [nb for nb in expected if nb not in have]


def _fmt(value: float, digits: int) -> str:
    """``digits`` significant digits, in fixed notation between 1e-3 and 1e6 (``1208``, not
    ``1.21e+03``), otherwise ``g`` notation; whole numbers as integers (``10``, not ``10.0``)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if float(value).is_integer() and abs(value) < 1e6:  # counts (classes, modes) stay integers
        return str(int(value))
    magnitude = math.floor(math.log10(abs(value)))
    if -3 <= magnitude < 6:
        decimals = max(0, digits - 1 - magnitude)
        return f"{round(value, decimals):.{decimals}f}"
    return f"{value:.{digits}g}"


def format_cell(mean: float, std: float, n: int, digits: int = 3) -> str:
    """``"m ± s"`` (mean to ``digits``, std to 2 significant digits), ``"m"`` for one value,
    ``"—"`` when missing, ``"inf"`` when a value is infinite."""
    if n == 0 or mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "—"
    if math.isinf(mean):
        return "inf" if mean > 0 else "-inf"
    if n == 1 or std is None or math.isnan(std):
        return _fmt(mean, digits)
    return f"{_fmt(mean, digits)} ± {_fmt(std, 2)}"


def seeds_cell(n: int) -> str:
    """The seeds column: ``"1 seed"`` for a single run (so its number is never read as a mean
    over seeds), else ``"<n> seeds"``."""
    return "1 seed" if n == 1 else f"{n} seeds"


BUDGET_KEYS = ("params_g", "steps", "batch_size")
BUDGET_HEADERS = ("G params", "steps × batch")


def budget_cells(row: Mapping[str, Any]) -> list[str]:
    """The budget columns of a table row: G parameters (e.g. ``"1.49M"``, ``"97k"``) and
    ``"steps × batch"`` (e.g. ``"1500 × 64"``); ``"—"`` where the record lacks them."""
    p = row.get("params_g")
    params = "—" if not isinstance(p, int) else (f"{p / 1e6:.3g}M" if p >= 1e6 else
                                                  f"{p / 1e3:.3g}k" if p >= 1e3 else str(p))
    steps, batch = row.get("steps"), row.get("batch_size")
    run = f"{steps} × {batch}" if isinstance(steps, int) and isinstance(batch, int) else "—"
    return [params, run]


@dataclass
class DatasetTable:
    """One dataset's comparison: a row per (notebook, run), a column per metric key.

    Attributes:
        dataset: dataset name of the records.
        rows: ``[{"notebook", "run", "family", "seeds", "params_g", "steps", "batch_size"}]`` in
            table order; the last three are the training budget of the row's first record (None
            when the record lacks it), shown so runs of different capacity are not mistaken for
            a like-for-like comparison.
        keys: metric keys (columns), display order, then :data:`TIME_KEY`.
        mean, std: ``{key: [value per row]}``; NaN where a row lacks the metric; std is NaN
            for a single seed (sample standard deviation, ddof=1, otherwise).
        count: ``{key: [finite values per row]}``.
        published: entries of ``published.toml`` (:mod:`ganlab.course.published`) attached by
            :func:`attach_published`, or None: then the CSV gets ``source`` / ``source said``
            columns and :meth:`beside_sources_markdown` a compact table beside the sources.
    """

    dataset: str
    rows: list[dict[str, Any]]
    keys: list[str]
    mean: dict[str, list[float]] = field(default_factory=dict)
    std: dict[str, list[float]] = field(default_factory=dict)
    count: dict[str, list[int]] = field(default_factory=dict)
    published: list[Published] | None = None

    @property
    def metric_keys(self) -> list[str]:
        """The metric columns (without the training time)."""
        return [k for k in self.keys if k != TIME_KEY]

    @property
    def display_keys(self) -> list[str]:
        """The columns shown in Markdown: all keys except within-run spreads (``kid_std``,
        ``is_std``: the spread over KID subsets / IS splits of one run, kept in the CSV)."""
        return [k for k in self.keys if not _metric_name(k).endswith("_std")]

    @property
    def families(self) -> list[str]:
        """Families present, in row order, without repeats."""
        return list(dict.fromkeys(str(r["family"]) for r in self.rows))

    def headers(self) -> list[str]:
        """Display headers: model, family, notebook, seeds, the budget (G parameters, steps x
        batch), then one per displayed key (extractor and N named)."""
        return ["model", "family", "notebook", "seeds", *BUDGET_HEADERS,
                *[metric_label(k) for k in self.display_keys]]

    def cells(self) -> list[list[str]]:
        """Rows of display strings (``"m ± s"``)."""
        out = []
        for i, row in enumerate(self.rows):
            vals = [format_cell(self.mean[k][i], self.std[k][i], self.count[k][i])
                    for k in self.display_keys]
            out.append([str(row["run"]), str(row["family"]), str(row["notebook"]),
                        seeds_cell(int(row["seeds"])), *budget_cells(row), *vals])
        return out

    def frame(self) -> Any:
        """A pandas DataFrame of display strings (for showing in a notebook)."""
        import pandas as pd

        return pd.DataFrame(self.cells(), columns=self.headers())

    def numeric_frame(self) -> Any:
        """A pandas DataFrame of numbers: ``<key>`` (mean) and ``<key> std`` per metric."""
        import pandas as pd

        data: dict[str, list[Any]] = {c: [r[c] for r in self.rows]
                                      for c in ("notebook", "run", "family", "seeds", *BUDGET_KEYS)}
        for k in self.keys:
            data[k] = self.mean[k]
            data[f"{k} std"] = self.std[k]
        if self.published is not None:
            from ganlab.course.published import find_entry

            found = [find_entry(self.published, str(r["notebook"]), str(r["run"])) for r in self.rows]
            data["source"] = [e.source if e else "" for e in found]
            data["source said"] = [e.display() if e else "" for e in found]
        return pd.DataFrame(data)

    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown table."""
        return markdown_table(self.headers(), self.cells())

    def beside_sources_markdown(self) -> str:
        """The compact table beside the sources (model, notebook, seeds, our headline metric,
        source, what it said; :func:`ganlab.course.published.beside_sources_table`), or ``""``
        when no entries are attached."""
        if self.published is None:
            return ""
        from ganlab.course.published import beside_sources_table

        return beside_sources_table(self, self.published)

    def to_csv(self) -> str:
        """CSV of :meth:`numeric_frame` (raw metric keys as headers, so extractor and N stay named)."""
        buf = io.StringIO()
        self.numeric_frame().to_csv(buf, index=False, float_format="%.10g")
        return buf.getvalue()

    def value(self, run: str, key: str, notebook: str | None = None) -> float:
        """Mean of ``key`` for the row ``run`` (and ``notebook`` when given)."""
        for i, row in enumerate(self.rows):
            if row["run"] == run and (notebook is None or row["notebook"] == notebook):
                return self.mean[key][i]
        raise KeyError(f"no row {run!r} in the {self.dataset} table")


def dataset_table(records: Iterable[Mapping[str, Any]], dataset: str) -> DatasetTable:
    """The comparison table of ``dataset``: one row per (notebook, run), seeds aggregated.

    Rows are ordered by notebook, then by the order the runs were recorded; columns are every
    numeric metric key found in the dataset's records plus the training time. A pandas
    ``groupby`` over the records does the aggregation: per row and key the mean, the sample
    standard deviation (ddof=1; NaN for one value) and the count of the values that are not
    NaN; where a value is infinite the mean is that infinity (``+inf`` if any is) and the std NaN.

    Raises:
        ValueError: no record for ``dataset`` (names the datasets that have records).
    """
    import numpy as np
    import pandas as pd

    recs = [r for r in records if r.get("dataset") == dataset]
    if not recs:
        have = sorted({str(r.get("dataset")) for r in records})
        raise ValueError(f"no records for dataset {dataset!r}; records exist for: {have or 'none'}")
    metrics = [numeric_metrics(r.get("metrics") or {}) for r in recs]
    keys = sorted({k for m in metrics for k in m}, key=_order)
    keys.append(TIME_KEY)
    models = [r.get("model") if isinstance(r.get("model"), Mapping) else {} for r in recs]
    frame = pd.DataFrame({
        "notebook": [str(r.get("notebook")) for r in recs],
        "run": [str(r.get("run")) for r in recs],
        "created": [str(r.get("created", "")) for r in recs],
        "seed": [r.get("seed") for r in recs],
        "family": [m.get("family") or "—" for m in models],
        "params_g": [m.get("params_g") for m in models],
        "steps": [(r.get("config") or {}).get("steps") for r in recs],
        "batch_size": [(r.get("config") or {}).get("batch_size") for r in recs],
    }, dtype=object)
    values = pd.DataFrame([{**m, TIME_KEY: _number(r.get("wall_time"))} for r, m in zip(recs, metrics)],
                          columns=keys, dtype=float)
    order = frame.sort_values(["notebook", "created"], kind="stable").index
    frame, values = frame.loc[order], values.loc[order]
    by = [frame["notebook"], frame["run"]]
    groups = values.groupby(by, sort=False)
    first = frame.groupby(["notebook", "run"], sort=False).head(1)  # budget: a row's first record
    seeds = frame.groupby(["notebook", "run"], sort=False)["seed"].nunique(dropna=False)
    pos_inf = values.eq(np.inf).groupby(by, sort=False).any()
    neg_inf = values.eq(-np.inf).groupby(by, sort=False).any()
    mean = groups.mean().mask(neg_inf, -np.inf).mask(pos_inf, np.inf)
    std = groups.std(ddof=1).mask(pos_inf | neg_inf)
    count = groups.count()
    rows = [{"notebook": f["notebook"], "run": f["run"], "family": f["family"], "seeds": int(n),
             "params_g": f["params_g"], "steps": f["steps"], "batch_size": f["batch_size"]}
            for f, n in zip(first.to_dict("records"), seeds.tolist())]
    return DatasetTable(dataset, rows, keys, {k: mean[k].tolist() for k in keys},
                        {k: std[k].tolist() for k in keys}, {k: count[k].tolist() for k in keys})


def dataset_tables(records: Iterable[Mapping[str, Any]]) -> dict[str, DatasetTable]:
    """One :class:`DatasetTable` per dataset found in ``records`` (sorted by dataset name)."""
    recs = list(records)
    names = sorted({str(r["dataset"]) for r in recs if r.get("dataset")})
    return {name: dataset_table(recs, name) for name in names}


def attach_published(tables: Mapping[str, DatasetTable],
                     entries: Sequence[Published]) -> Mapping[str, DatasetTable]:
    """Attach ``published.toml``'s entries to every table (in place; returns ``tables``)."""
    for table in tables.values():
        table.published = list(entries)
    return tables


def _dataset_markdown(table: DatasetTable) -> list[str]:
    """A dataset's Markdown: its table, then the table beside the sources when attached."""
    lines = [table.to_markdown()]
    beside = table.beside_sources_markdown()
    if beside:
        lines += [f"Beside the sources ({table.dataset}): our headline metric and what the source "
                  "report or paper said for the same row (\"—\": no counterpart).", "", beside]
    return lines


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], left: int = 4) -> str:
    """A GitHub Markdown table; the first ``left`` columns left-aligned, the others right-aligned
    (``|`` in cells escaped).

    Not ``DataFrame.to_markdown``: tabulate pads every cell to its column's width, which would
    change every table already pasted into the README and needs an extra dependency."""

    def esc(x: Any) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    align = [":---" if i < left else "---:" for i in range(len(headers))]
    lines = ["| " + " | ".join(esc(h) for h in headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_tables(tables: Mapping[str, DatasetTable], out_dir: str | Path) -> list[Path]:
    """Write ``<dataset>.md`` and ``<dataset>.csv`` for every table into ``out_dir`` (atomically)."""
    out = Path(out_dir)
    paths = []
    for name, table in tables.items():
        body = "\n".join(_dataset_markdown(table))
        paths.append(atomic_write_text(out / f"{name}.md", f"### {name}\n\n{body}"))
        paths.append(atomic_write_text(out / f"{name}.csv", table.to_csv()))
    return paths


def readme_markdown(tables: Mapping[str, DatasetTable], *, profile: str, device: Any = None,
                    n_records: int | None = None, extra_sections: Mapping[str, str] | None = None,
                    date: str | None = None) -> str:
    """The Markdown block for the README: date, machine, one table per dataset, extra sections.

    The machine is :func:`ganlab.device.machine_description` of ``device``. Tables with
    ``published`` entries attached are followed by their table beside the sources."""
    from ganlab.device import machine_description

    stamp = date or time.strftime("%Y-%m-%d %H:%M %Z")
    lines = [
        "## Results (generated by notebook 17_comparison_tables)",
        "",
        f"Profile `{profile}`, generated {stamp} on {machine_description(device)}"
        + (f", from {n_records} run records." if n_records is not None else "."),
        "Each cell is the mean ± standard deviation over seeds (a single number: one seed, and "
        "the seeds column says \"1 seed\"). Every "
        "metric header names its feature extractor and the number of generated samples N; compare "
        "numbers only at equal extractor and N. Training times are wall-clock seconds on the "
        "machine above (shared CPUs make them noisy).",
        "",
    ]
    if any(t.published is not None for t in tables.values()):
        lines += ["Below each dataset's table, a compact table puts one headline metric of ours beside "
                  "what the source report or paper said for the same row (`ganlab/course/published.toml`; "
                  "\"—\": no counterpart). Their numbers are on other data, extractors and budgets: "
                  "compare orderings and claims, not values.", ""]
    for name, table in tables.items():
        lines += [f"### {name}", "", *_dataset_markdown(table)]
    for title, body in (extra_sections or {}).items():
        lines += [f"### {title}", "", body.rstrip("\n"), ""]
    return "\n".join(lines).rstrip("\n") + "\n"
