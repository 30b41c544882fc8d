"""The sources map (``ganlab/course/sources.toml``), docs/SOURCES.md, docs/GLOSSARY.md and the
stamped Sources cell that ends every notebook."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ganlab.course.sources import (
    GLOSSARY_LINK,
    SOURCES_TAG,
    github_anchor,
    load_sources,
    notebook_sources,
    notebook_stems,
    sources_cell_markdown,
    sources_markdown,
)
from ganlab.course.stamping import normalise_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
GLOSSARY = ROOT / "docs" / "GLOSSARY.md"
SOURCES = ROOT / "docs" / "SOURCES.md"
LINK = re.compile(r"GLOSSARY\.md#([\w\-]+)")


def _glossary_anchors() -> set[str]:
    text = GLOSSARY.read_text(encoding="utf-8")
    return {github_anchor(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.M)}


def test_every_notebook_has_an_entry() -> None:
    stems = [p.stem for p in NOTEBOOKS]
    assert stems, "no notebooks found"
    assert sorted(stems) == notebook_stems(), "sources.toml and notebooks/ name different notebooks"
    for stem in stems:
        src = notebook_sources(stem)
        assert src.papers or src.reports, f"{stem}: neither a paper nor a source report"


def test_every_url_is_http() -> None:
    data = load_sources()
    urls = [(k, p["url"]) for k, p in data["papers"].items()]
    urls += [(k, r["url"]) for k, r in data["reports"].items() if "url" in r]
    for key, url in urls:
        assert re.match(r"https?://[^\s)]+$", url), f"{key}: {url!r} is not an http(s) URL"


def test_five_reports_and_every_paper_cited() -> None:
    data = load_sources()
    assert sorted(data["reports"]) == ["000", "001", "002", "003", "004"]
    cited = {p["ref"] for nb in data["notebooks"].values() for p in nb.get("papers", [])}
    assert cited == set(data["papers"]), f"papers no notebook cites: {set(data['papers']) - cited}"
    used = {r for nb in data["notebooks"].values() for r in nb.get("reports", [])}
    assert used == set(data["reports"]), "a source report no notebook reproduces"


def test_unknown_stem_is_refused() -> None:
    with pytest.raises(ValueError, match="sources.toml"):
        notebook_sources("99_no_such_notebook")


def test_sources_md_matches_the_map() -> None:
    assert SOURCES.read_text(encoding="utf-8") == sources_markdown(), "docs/SOURCES.md is stale: run make sources"


def test_glossary_notebook_lists_match_the_map() -> None:
    """Each glossary term's "Notebooks:" line names exactly the notebooks whose ``terms`` list it."""
    text = GLOSSARY.read_text(encoding="utf-8")
    listed: dict[str, set[str]] = {}
    for heading, body in re.findall(r"^## (.+?)\n(.*?)(?=^## |\Z)", text, re.M | re.S):
        line = re.search(r"^\*Notebooks:\*(.*)$", body, re.M)
        listed[github_anchor(heading)] = set(re.findall(r"\[(\d\d)\]", line.group(1))) if line else set()
    expected: dict[str, set[str]] = {}
    for stem in notebook_stems():
        for term in notebook_sources(stem).terms:
            expected.setdefault(github_anchor(term), set()).add(stem[:2])
    for anchor, numbers in expected.items():
        assert anchor in listed, f"sources.toml names glossary term #{anchor}, GLOSSARY.md has no such heading"
        assert listed[anchor] == numbers, f"#{anchor}: GLOSSARY.md lists {sorted(listed[anchor])}, sources.toml {sorted(numbers)}"
    for anchor, numbers in listed.items():
        assert numbers <= expected.get(anchor, set()), f"#{anchor}: GLOSSARY.md lists notebooks sources.toml does not"


def test_glossary_anchors_exist() -> None:
    """Every ``GLOSSARY.md#anchor`` linked from notebooks, docs, README or the map's cells exists."""
    anchors = _glossary_anchors()
    texts = {p.relative_to(ROOT): p.read_text(encoding="utf-8") for p in [*NOTEBOOKS, *(ROOT / "docs").glob("*.md"), ROOT / "README.md"]}
    texts.update({Path(f"<sources cell {s}>"): sources_cell_markdown(s) for s in notebook_stems()})
    missing = [(str(where), a) for where, text in texts.items() for a in LINK.findall(text) if a not in anchors]
    assert not missing, f"glossary anchors linked but not defined: {missing}"
    text = GLOSSARY.read_text(encoding="utf-8")
    local = [a for a in re.findall(r"\]\(#([\w\-]+)\)", text) if a not in anchors]
    assert not local, f"GLOSSARY.md links to missing anchors: {local}"


def test_github_anchor() -> None:
    assert github_anchor("EMA of generator weights") == "ema-of-generator-weights"
    assert github_anchor("Wasserstein-1 distance") == "wasserstein-1-distance"
    assert github_anchor("Perception-distortion trade-off") == "perception-distortion-trade-off"
    assert github_anchor("AdaIN") == "adain"


def _cells(text: str) -> list[dict]:
    return json.loads(text)["cells"]


@pytest.mark.parametrize("path", NOTEBOOKS[:1] + NOTEBOOKS[-1:] + [p for p in NOTEBOOKS if p.stem.startswith("05")],
                         ids=lambda p: p.stem)
def test_normalised_notebook_ends_with_sources(path: Path, tmp_path: Path) -> None:
    copy = tmp_path / path.name
    copy.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    once = normalise_notebook(copy.read_text(encoding="utf-8"), path.stem)
    assert normalise_notebook(once, path.stem) == once, "normalising twice changed the notebook"
    cells = _cells(once)
    last = cells[-1]
    assert last["cell_type"] == "markdown" and SOURCES_TAG in last["metadata"]["tags"]
    assert sum(SOURCES_TAG in c.get("metadata", {}).get("tags", []) for c in cells) == 1
    text = "".join(last["source"])
    assert text.startswith("## Sources\n") and text == sources_cell_markdown(path.stem)
    assert f"]({GLOSSARY_LINK})" in text and "](../docs/SOURCES.md)" in text
    for paper, _ in notebook_sources(path.stem).papers:
        assert paper.url in text
    for target in re.findall(r"\]\((\.\./[^)#]+)", text):  # relative links resolve from notebooks/
        assert (ROOT / "notebooks" / target).resolve().exists(), target
    nb = json.loads(once)
    if nb["nbformat_minor"] >= 5:
        ids = [c["id"] for c in cells if "id" in c]
        assert len(ids) == len(set(ids)), "duplicate cell ids"


def test_stale_sources_cell_is_replaced(tmp_path: Path) -> None:
    """A sources cell anywhere (edited by hand, or followed by new cells) ends up once, last, current."""
    path = NOTEBOOKS[3]
    nb = json.loads(normalise_notebook(path.read_text(encoding="utf-8"), path.stem))
    stale = dict(nb["cells"][-1], source=["## Sources\n", "- an old list\n"])
    nb["cells"] = [*nb["cells"][:-1][:5], stale, *nb["cells"][:-1][5:]]
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": ["a cell added later\n"],
                        **({"id": "later"} if nb["nbformat_minor"] >= 5 else {})})
    again = _cells(normalise_notebook(json.dumps(nb), path.stem))
    tagged = [i for i, c in enumerate(again) if SOURCES_TAG in c.get("metadata", {}).get("tags", [])]
    assert tagged == [len(again) - 1]
    assert "".join(again[-1]["source"]) == sources_cell_markdown(path.stem)
    assert "".join(again[-2]["source"]) == "a cell added later\n"
