"""ganlab.course.tables: comparison tables built from run records (notebook 17)."""

from __future__ import annotations

import csv
import io
import math

import pytest

from ganlab.course.records import load_records, save_record
from ganlab.course.tables import (
    TIME_KEY,
    dataset_table,
    dataset_tables,
    filter_records,
    find_metric,
    format_cell,
    markdown_table,
    metric_label,
    missing_notebooks,
    numeric_metrics,
    readme_markdown,
    write_tables,
)

FID = "fid[mnist_cnn,N=1000]"
PREC = "precision[mnist_cnn,N=1000,k=3]"
COV = "classes_covered[mnist_cnn,N=1000]"


def _rec(notebook, run, seed, metrics, *, dataset="mnist5k", family="dcgan", wall=10.0,
         profile="quick", created="2026-01-01T00:00:00"):
    return {"notebook": notebook, "run": run, "dataset": dataset, "seed": seed,
            "model": {"family": family}, "metrics": metrics, "wall_time": wall,
            "config": {"profile": profile}, "created": created}


def test_parse_and_label():
    assert metric_label("loss") == "loss" and metric_label("fid_inf[mnist_cnn]") == "fid_inf[mnist_cnn]"
    assert metric_label(FID) == "FID (mnist_cnn, N=1000)"
    assert metric_label(PREC) == "precision (mnist_cnn, N=1000, k=3)"
    assert metric_label("modes[points,N=2500]") == "modes (points, N=2500)"
    assert metric_label(TIME_KEY) == "training time (s)"


def test_find_metric_does_not_hard_code_extractor():
    metrics = {PREC: 0.5, FID: 12.0, "kid[mnist_cnn,N=1000]": 0.01}
    assert find_metric(metrics, "fid") == FID
    assert find_metric(metrics, "kid") == "kid[mnist_cnn,N=1000]"
    assert find_metric(metrics, "is") is None
    # "fid" must not match "fid_something"
    assert find_metric({"fid_inf[mnist_cnn]": 1.0}, "fid") is None


def test_numeric_metrics_drops_lists_and_bookkeeping():
    m = {FID: 3, "counts[ring8,N=2500]": [1, 2], "step": 100, "note": "x", "ok": True}
    assert numeric_metrics(m) == {FID: 3.0}


def test_format_cell():
    assert format_cell(math.nan, math.nan, 0) == "—"
    assert format_cell(12.345, math.nan, 1) == "12.3"
    assert format_cell(12.345, 0.51, 3) == "12.3 ± 0.51"
    assert format_cell(math.inf, math.nan, 2) == "inf"


def test_table_aggregates_seeds_and_orders_columns():
    recs = [
        _rec("04_dcgan", "dcgan", 0, {PREC: 0.6, FID: 10.0, COV: 10}, wall=30.0),
        _rec("04_dcgan", "dcgan", 1, {PREC: 0.8, FID: 14.0, COV: 10}, wall=50.0),
        _rec("07_wgan_gp", "wgan_gp", 0, {FID: 20.0}, family="wgan_gp", wall=90.0),
        _rec("02_toy", "gan", 0, {"modes[points,N=2500]": 7}, dataset="ring8", family="gan"),
    ]
    recs[2]["model"]["params_g"] = 1_486_352
    recs[2]["config"].update(steps=800, batch_size=32)
    t = dataset_table(recs, "mnist5k")
    assert t.keys == [FID, PREC, COV, TIME_KEY]  # FID first, unknown order kept, time last
    assert [r["run"] for r in t.rows] == ["dcgan", "wgan_gp"]
    assert t.rows[0]["seeds"] == 2 and t.rows[1]["seeds"] == 1
    assert t.value("dcgan", FID) == pytest.approx(12.0)
    assert t.std[FID][0] == pytest.approx(math.sqrt(8.0))  # ddof=1
    assert math.isnan(t.mean[PREC][1]) and t.count[PREC][1] == 0
    assert t.value("wgan_gp", TIME_KEY) == 90.0
    assert t.families == ["dcgan", "wgan_gp"]
    headers = t.headers()
    assert "FID (mnist_cnn, N=1000)" in headers and "training time (s)" in headers
    cells = t.cells()
    assert cells[0][headers.index("FID (mnist_cnn, N=1000)")] == "12 ± 2.8"
    assert cells[1][headers.index("precision (mnist_cnn, N=1000, k=3)")] == "—"
    # the training budget is shown, so different capacities are not read as like for like
    assert cells[1][headers.index("G params")] == "1.49M" and cells[0][headers.index("G params")] == "—"
    assert cells[1][headers.index("steps × batch")] == "800 × 32"
    steps = t.numeric_frame()["steps"].tolist()
    assert math.isnan(steps[0]) and steps[1] == 800
    tables = dataset_tables(recs)
    assert list(tables) == ["mnist5k", "ring8"]
    assert tables["ring8"].metric_keys == ["modes[points,N=2500]"]


def test_unknown_dataset_names_the_known_ones():
    with pytest.raises(ValueError, match="mnist5k"):
        dataset_table([_rec("04_dcgan", "dcgan", 0, {FID: 1.0})], "cifar10")


def test_filter_and_missing():
    recs = [_rec("04_dcgan", "dcgan", 0, {FID: 1.0}),
            _rec("04_dcgan", "old", 0, {FID: 1.0}, profile="smoke"),
            _rec("03_vanilla_gan_mlp", "noeval", 0, {})]
    recs.append({**_rec("01_gan_theory", "critic_gp", 0, {"w_estimate[N=5000]": 0.6}), "model": None})
    kept, skipped = filter_records(recs, profile="quick")
    assert [r["run"] for r in kept] == ["dcgan"]
    assert len(skipped) == 3 and any("smoke" in s for s in skipped)
    assert any("no GAN family" in s for s in skipped)
    assert len(filter_records(recs, profile="quick", require_family=False)[0]) == 2
    assert missing_notebooks(kept, ["03_vanilla_gan_mlp", "04_dcgan", "05_lsgan"]) == [
        "03_vanilla_gan_mlp", "05_lsgan"]


def test_markdown_and_csv_exports(tmp_path):
    recs = [_rec("04_dcgan", "dcgan", 0, {FID: 10.0, PREC: 0.5}),
            _rec("04_dcgan", "dcgan", 1, {FID: 12.0, PREC: 0.7})]
    tables = dataset_tables(recs)
    paths = write_tables(tables, tmp_path / "tables")
    assert sorted(p.name for p in paths) == ["mnist5k.csv", "mnist5k.md"]
    md = (tmp_path / "tables" / "mnist5k.md").read_text()
    lines = [ln for ln in md.splitlines() if ln.startswith("|")]
    assert len(lines) == 3  # header, alignment, one row
    assert "FID (mnist_cnn, N=1000)" in lines[0] and "11 ± 1.4" in lines[2]
    rows = list(csv.DictReader(io.StringIO((tmp_path / "tables" / "mnist5k.csv").read_text())))
    assert float(rows[0][FID]) == pytest.approx(11.0)
    assert float(rows[0][f"{FID} std"]) == pytest.approx(math.sqrt(2.0))
    text = readme_markdown(tables, profile="quick", device="cpu", n_records=2,
                           extra_sections={"FID vs N": "| N | FID |\n|---|---|\n| 1 | 2 |\n"},
                           date="2026-01-01")
    assert "2026-01-01" in text and "torch" in text and "### mnist5k" in text
    assert "### FID vs N" in text


def test_markdown_escapes_pipes():
    out = markdown_table(["a|b", "c"], [["x|y", 1]])
    assert "a\\|b" in out and "x\\|y" in out


def test_round_trip_through_saved_records(tmp_path):
    for seed, fid in ((0, 5.0), (1, 7.0)):
        save_record(tmp_path, notebook="04_dcgan", run="dcgan", dataset="mnist5k", seed=seed,
                    model={"family": "dcgan"}, config={"profile": "quick"},
                    history={"wall_time": 3.0, "images_seen": 300}, metrics={FID: fid})
    kept, skipped = filter_records(load_records(tmp_path), profile="quick")
    assert not skipped
    t = dataset_table(kept, "mnist5k")
    assert t.value("dcgan", FID) == pytest.approx(6.0) and t.rows[0]["seeds"] == 2
    assert t.value("dcgan", TIME_KEY) == pytest.approx(3.0)


def test_within_run_spreads_are_in_csv_not_markdown():
    kid, kid_std = "kid[mnist_cnn,N=1000]", "kid_std[mnist_cnn,N=1000]"
    t = dataset_table([_rec("04_dcgan", "dcgan", 0, {FID: 1.0, kid: 0.01, kid_std: 0.002})], "mnist5k")
    assert t.keys == [FID, kid, kid_std, TIME_KEY]
    assert t.display_keys == [FID, kid, TIME_KEY]
    assert "KID std" not in t.to_markdown() and kid_std in t.to_csv()


def test_numbers_avoid_exponent_notation_in_the_usual_range():
    assert format_cell(1208.3, 7.1, 2) == "1208 ± 7.1"
    assert format_cell(0.006, 0.0057, 2) == "0.00600 ± 0.0057"
    assert format_cell(2.302585, 0.0, 2) == "2.30 ± 0"
    assert format_cell(12345678.0, math.nan, 1) == "1.23e+07"
    assert format_cell(10.0, math.nan, 1) == "10" and format_cell(7.0, 0.5, 3) == "7 ± 0.50"
    assert markdown_table(["a", "b"], [[1, 2]], left=1).splitlines()[1] == "| :--- | ---: |"
