"""ganlab.course.published: what the sources said, beside notebook 17's tables."""

from __future__ import annotations

import csv
import io

import pytest

from ganlab.course.published import (
    NO_COUNTERPART,
    beside_sources_cells,
    beside_sources_headers,
    find_entry,
    in_scope,
    load_published,
    missing_entries,
    parse_published,
    unused_entries,
)
from ganlab.course.tables import (
    attach_published,
    dataset_table,
    dataset_tables,
    readme_markdown,
    seeds_cell,
    write_tables,
)

FID = "fid[mnist_cnn,N=1000]"
PSNR_Y = "psnr[photos_x4-test,N=2,x=4,channel=Y,crop=4]"
PSNR_RGB = "psnr[photos_x4-test,N=2,x=4,channel=RGB,crop=4]"

DATA = {
    "04_dcgan": {
        "dcgan": {"source": "bachelor thesis, Table 2", "said": "MNIST 70k: FID 49.54"},
        "bn_G-*": {"source": "midterm report, BN ablation", "said": "smoother loss curves"},
        "bn_G-normal_D-normal": {"source": "midterm report, BN ablation", "said": "jagged curves"},
        "lr_*": {"source": "—", "said": "—", "note": "not in the sources"},
    },
    "13_srgan": {
        "bicubic": {"source": "SRGAN paper [secondary]", "said": "Set5 28.43 / 0.8211",
                    "metrics": ["psnr[channel=Y]"]},
    },
}


def _rec(notebook, run, seed, metrics, *, dataset="mnist5k", family="dcgan"):
    return {"notebook": notebook, "run": run, "dataset": dataset, "seed": seed,
            "model": {"family": family}, "metrics": metrics, "wall_time": 1.0,
            "config": {"profile": "quick"}, "created": f"2026-01-01T00:00:0{seed}"}


def test_parse_and_flags():
    entries = parse_published(DATA)
    assert [(e.notebook, e.pattern) for e in entries][:2] == [("04_dcgan", "dcgan"), ("04_dcgan", "bn_G-*")]
    dash = entries[3]
    assert not dash.has_counterpart and dash.display() == f"{NO_COUNTERPART} (not in the sources)"
    assert entries[0].has_counterpart and entries[0].display() == "MNIST 70k: FID 49.54"
    assert entries[1].is_glob and not entries[0].is_glob
    assert entries[4].metrics == ("psnr[channel=Y]",)


@pytest.mark.parametrize("bad", [
    {"4_dcgan": {"dcgan": {"source": "x", "said": "y"}}},                    # not a stem
    {"04_dcgan": {"dcgan": {"source": "x"}}},                                # no said
    {"04_dcgan": {"dcgan": {"source": "", "said": "y"}}},                    # empty source
    {"04_dcgan": {"dcgan": {"source": "x", "said": "y", "value": 3}}},      # unknown key
    {"04_dcgan": {"dcgan": {"source": "x", "said": "y", "metrics": "fid"}}},  # not a list
    {"04_dcgan": {"dcgan": "x"}},                                            # not a table
])
def test_parse_rejects_malformed(bad):
    with pytest.raises(ValueError, match="published"):
        parse_published(bad)


def test_pattern_matching_exact_beats_glob_and_notebook_matters():
    entries = parse_published(DATA)
    assert find_entry(entries, "04_dcgan", "bn_G-normal_D-normal").said == "jagged curves"
    assert find_entry(entries, "04_dcgan", "bn_G-ablated_D-normal").said == "smoother loss curves"
    assert find_entry(entries, "04_dcgan", "lr_0.001").pattern == "lr_*"
    assert find_entry(entries, "04_dcgan", "dcgan_celeba64") is None      # exact name is not a prefix
    assert find_entry(entries, "05_lsgan", "dcgan") is None               # another notebook
    # among globs the first written wins
    two = parse_published({"16_ablations": {"ablation_ratio_d1g*": {"source": "a", "said": "first"},
                                            "ablation_ratio_d*": {"source": "b", "said": "second"}}})
    assert find_entry(two, "16_ablations", "ablation_ratio_d1g2").said == "first"
    assert find_entry(two, "16_ablations", "ablation_ratio_d2g1").said == "second"


def test_missing_entry_detected_only_for_notebooks_02_to_16():
    entries = parse_published(DATA)
    rows = [{"notebook": "04_dcgan", "run": "dcgan"}, {"notebook": "04_dcgan", "run": "new_run"},
            {"notebook": "04_dcgan", "run": "new_run"}, {"notebook": "17_comparison_tables", "run": "dcgan"},
            {"notebook": "01_gan_theory", "run": "optimal_d"}]
    assert missing_entries(rows, entries) == [("04_dcgan", "new_run")]
    assert in_scope("02_toy_2d_mode_collapse") and in_scope("16_ablations")
    assert not in_scope("17_comparison_tables") and not in_scope("01_gan_theory")
    assert [(e.notebook, e.pattern) for e in unused_entries(rows, entries)] == [
        ("04_dcgan", "bn_G-*"), ("04_dcgan", "bn_G-normal_D-normal"), ("04_dcgan", "lr_*"), ("13_srgan", "bicubic")]


def test_column_in_markdown_csv_and_readme(tmp_path):
    entries = parse_published(DATA)
    recs = [_rec("04_dcgan", "dcgan", 0, {FID: 10.0}), _rec("04_dcgan", "dcgan", 1, {FID: 14.0}),
            _rec("04_dcgan", "lr_0.001", 0, {FID: 50.0}), _rec("04_dcgan", "unlisted", 0, {FID: 70.0}),
            _rec("13_srgan", "bicubic", 0, {PSNR_RGB: 26.0, PSNR_Y: 27.5}, dataset="photos_x4",
                 family="bicubic")]
    tables = attach_published(dataset_tables(recs), entries)
    t = tables["mnist5k"]
    # the seeds column says "1 seed" for single runs, in the main table and beside the sources
    assert t.cells()[1][t.headers().index("seeds")] == "1 seed" and t.cells()[0][3] == "2 seeds"
    cells = beside_sources_cells(t, entries)
    assert cells[0] == ["dcgan", "04_dcgan", "2 seeds", "FID (mnist_cnn, N=1000) 12 ± 2.8",
                        "bachelor thesis, Table 2", "MNIST 70k: FID 49.54"]
    assert cells[1][4:] == ["—", "— (not in the sources)"]
    assert cells[2][4:] == ["MISSING", "MISSING"]
    md = t.beside_sources_markdown()
    assert md.splitlines()[0] == "| " + " | ".join(beside_sources_headers()) + " |"
    assert "| source said |" in md and "MNIST 70k: FID 49.54" in md
    # the headline metric follows the entry's metrics spec (channel=Y, not the first PSNR key)
    sr = beside_sources_cells(tables["photos_x4"], entries)[0]
    assert sr[3] == "PSNR (photos_x4-test, N=2, x=4, channel=Y, crop=4) 27.5" and sr[2] == "1 seed"
    # CSV: one source and one said column, per row
    rows = list(csv.DictReader(io.StringIO(t.to_csv())))
    assert rows[0]["source said"] == "MNIST 70k: FID 49.54" and rows[2]["source"] == ""
    # the files and the README block carry the table beside the sources
    write_tables(tables, tmp_path)
    assert "| source said |" in (tmp_path / "mnist5k.md").read_text(encoding="utf-8")
    readme = readme_markdown(tables, profile="quick", date="2026-01-01")
    assert readme.count("| source said |") == 2 and "published.toml" in readme


def test_without_entries_nothing_changes():
    t = dataset_table([_rec("04_dcgan", "dcgan", 0, {FID: 10.0})], "mnist5k")
    assert t.beside_sources_markdown() == "" and "source" not in t.to_csv().splitlines()[0]
    assert "source said" not in readme_markdown({"mnist5k": t}, profile="quick", date="x")
    assert seeds_cell(1) == "1 seed" and seeds_cell(3) == "3 seeds"


def test_shipped_file_loads_and_quotes_sources():
    entries = load_published()
    assert len({(e.notebook, e.pattern) for e in entries}) == len(entries)
    assert all(in_scope(e.notebook) for e in entries)
    # a few quotes checked against ../shared/REFERENCES.md and the source reports
    said = {(e.notebook, e.pattern): e.said for e in entries}
    assert "17.3 ± 0.8" in said[("02_toy_2d_mode_collapse", "grid25_gan")]
    assert "49.54" in said[("04_dcgan", "dcgan")] and "63.52" in said[("07_wgan_gp", "wgan_gp")]
    assert "460.43" in said[("15_augmentation", "classical_blur_flip_affine")]
    assert "247.4799" in said[("05_lsgan", "lsgan")]
    # every run of the quick profile's notebooks 02-16 has an entry (names as of the last run)
    quick = {"02_toy_2d_mode_collapse": ["ring8_gan", "grid25_pacgan2", "grid25_wgan_gp"],
             "04_dcgan": ["dcgan", "bn_G-ablated_D-normal", "lr_5e-05", "lr_0.001"],
             "10_sngan_hinge": ["sngan_hinge_none", "sngan_settingC_spectral", "sngan_hinge_spectral_shapes"],
             "12_image_to_image": ["pix2pix_rf_0", "cyclegan_no_cycle"],
             "14_realnessgan": ["realnessgan_g3", "realnessgan_n2_onehot", "realnessgan_g_a1"],
             "16_ablations": ["ablation_ratio_d1g2", "ablation_batch_64", "family_sngan", "tuned_best"]}
    rows = [{"notebook": nb, "run": run} for nb, runs in quick.items() for run in runs]
    assert missing_entries(rows, entries) == []
    assert find_entry(entries, "16_ablations", "ablation_ratio_d1g2").source.startswith("midterm")
    assert not find_entry(entries, "16_ablations", "family_sngan").has_counterpart
