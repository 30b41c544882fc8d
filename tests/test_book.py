"""The course website (``make book``): built from a few executed notebooks, opened in Chromium.

One tiny notebook is executed with nbclient (a matplotlib figure as an inline PNG, a pandas table,
inline math, relative links with anchors into ``../docs/`` and ``../README.md``) and saved under four syllabus
names (00, 16, 17, 18: ``make run-all`` runs 17 after 18, the site lists it between 16 and 18).
The site is built from them with the real README and docs (the other notebooks listed as not run
yet), served by ``python -m http.server`` on 127.0.0.1 (stopped by the test), and every page is
opened in Debian's Chromium through Playwright: each loads with HTTP 200, no console error and no
request leaving 127.0.0.1, every ``<img>`` has a natural width, every internal link answers 200
and names an anchor its page has, MathJax (shipped, offline) typesets the math, and the sidebar
lists the notebooks in syllabus order.

Needs Debian's ``chromium`` and the ``book`` extra (in ``dev``); without them the browser test is
skipped, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest

from ganlab.course import book

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("GANLAB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
NAMES = ["00_setup_and_data", "16_ablations", "17_comparison_tables", "18_latent_interpolation"]

MARKDOWN = """\
# {title}

A tiny stand-in for the course notebook, with math $D^*(x) = p(x) / (p(x) + q(x))$ and links:
[a term]({term}), [the syllabus](../README.md#syllabus),
[the results](../README.md#results-the-quick-profile-measured), [the README](../README.md),
[the architecture](../docs/ARCHITECTURE.md#{room}), [the next notebook](17_comparison_tables.ipynb),
[the losses](../ganlab/losses.py) and a badge
[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/).
"""
CODE = """\
%matplotlib inline
import matplotlib.pyplot as plt
import pandas as pd
fig, ax = plt.subplots(figsize=(3, 2))
ax.plot([0, 1, 2], [0, 1, 4])
plt.show()
pd.DataFrame({"model": ["gan", "wgan"], "FID": [12.5, 9.75]})
"""


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> None:
    """Skip locally, fail under CI: a CI run must really build and open the site."""
    if _in_ci():
        pytest.fail(f"{reason} (CI is set, so this test may not be skipped)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _anchor(doc: str) -> str:
    """The first level-2 heading of ``doc`` as a link from a notebook: ``../doc#slug``."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    heading = next(line[3:].strip() for line in text.splitlines() if line.startswith("## "))
    return f"../{doc}#{book.github_slug(heading)}"


def _executed_notebooks(folder: Path) -> Path:
    """Execute one tiny notebook and save it under the four syllabus names in ``folder``."""
    import nbclient
    import nbformat

    nb = nbformat.v4.new_notebook()
    glossary = "docs/GLOSSARY.md" if (ROOT / "docs" / "GLOSSARY.md").is_file() else "README.md"
    links = {"term": _anchor(glossary), "room": _anchor("docs/ARCHITECTURE.md").split("#")[1]}
    nb.cells = [nbformat.v4.new_markdown_cell(MARKDOWN.format(title="placeholder", **links)),
                nbformat.v4.new_code_cell(CODE)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}).execute()
    outputs = nb.cells[1].outputs
    assert any("image/png" in o.get("data", {}) for o in outputs), outputs
    assert any("text/html" in o.get("data", {}) for o in outputs), outputs
    for name in NAMES:
        nb.cells[0].source = MARKDOWN.format(title=f"{name[:2]} · tiny {name[3:]}", **links)
        nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


def test_syllabus_is_in_number_order():
    entries = book.read_syllabus((ROOT / "README.md").read_text(encoding="utf-8"))
    numbers = [e.number for e in entries]
    assert numbers == sorted(numbers) and "17" in numbers
    assert all(e.name.startswith(e.number + "_") for e in entries)


def test_missing_notebooks_are_named_with_the_command(tmp_path):
    folder = tmp_path / "quick"
    folder.mkdir()
    with pytest.raises(book.BookError) as err:
        book.assemble(folder, tmp_path / "src")
    message = str(err.value)
    assert "00_setup_and_data.ipynb" in message and "make run-all PROFILE=quick" in message


def test_links_are_rewritten_for_the_site(tmp_path):
    folder = tmp_path / "quick"
    folder.mkdir()
    nb = '{"cells": [{"cell_type": "markdown", "metadata": {}, "source": "%s"}], ' \
         '"metadata": {"papermill": {}}, "nbformat": 4, "nbformat_minor": 5}'
    text = ("# t\\n[a](../README.md#syllabus) [b](../README.md#results-the-quick-profile-measured) "
            "[c](../ganlab/losses.py) [d](../docs/ARCHITECTURE.md#rooms) `[e](../README.md)` "
            "[![Open In Colab](https://x.test/badge.svg)](https://x.test/nb)")
    (folder / "03_vanilla_gan_mlp.ipynb").write_text(nb % text)
    names, missing, notes = book.assemble(folder, tmp_path / "src", allow_missing=True)
    assert names == ["03_vanilla_gan_mlp"] and "00_setup_and_data.ipynb" in missing
    src = (tmp_path / "src" / "notebooks" / "03_vanilla_gan_mlp.ipynb").read_text()
    assert "[a](../index.md#syllabus)" in src
    assert "[b](../results.md#results-the-quick-profile-measured)" in src
    assert "[c](https://github.com/" in src and "/ganlab/losses.py)" in src
    assert "[d](../docs/ARCHITECTURE.md#rooms)" in src
    assert "`[e](../README.md)`" in src  # code is left alone
    assert "[Open In Colab](https://x.test/nb)" in src and "badge.svg" not in src
    assert notes == []


def test_check_links_finds_missing_files_and_anchors(tmp_path):
    (tmp_path / "a.html").write_text('<p id="here"><a href="b.html#nowhere">x</a>'
                                     '<a href="#here">y</a><img src="_images/none.png">'
                                     '<a href="https://example.org/">z</a></p>')
    (tmp_path / "b.html").write_text('<a href="a.html#here">back</a>')
    broken = book.check_links(tmp_path)
    assert len(broken) == 2, broken
    assert "no such anchor" in broken[0] and "no such file" in broken[1]


@contextlib.contextmanager
def _serve(folder: Path):
    """``python -m http.server`` on 127.0.0.1 serving ``folder``; yields its base URL; stops it."""
    proc = None
    try:
        for _attempt in range(3):
            port = _free_port()
            proc = subprocess.Popen(
                [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                 "--directory", str(folder)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            url = f"http://127.0.0.1:{port}/"
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    with urllib.request.urlopen(url + "index.html", timeout=2) as r:
                        if r.status == 200:
                            yield url
                            return
                except OSError:
                    time.sleep(0.2)
            proc.kill()
            proc.wait(timeout=10)
        pytest.fail("python -m http.server did not answer")
    finally:
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.mark.browser
@pytest.mark.slow
def test_book_builds_and_every_page_loads_in_chromium(tmp_path):
    absent = [m for m in book.REQUIRED_MODULES if importlib.util.find_spec(m) is None]
    if absent:
        _unavailable(f"the book extra is not installed ({', '.join(absent)}): pip install -e '.[book]'")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found: install the Debian package `chromium`")
    from playwright.sync_api import sync_playwright

    notebooks = _executed_notebooks(tmp_path / "notebooks" / "quick")
    out = tmp_path / "book"
    result = book.build_book(notebooks, out, src_dir=tmp_path / "src", allow_missing=True)
    assert result.notebooks == NAMES  # number order: 17 between 16 and 18
    assert result.broken_links == []
    pages = [p.relative_to(out).as_posix() for p in book.site_pages(out)]
    for expected in ["index.html", "results.html", "guide.html", "docs/ARCHITECTURE.html",
                     *(f"notebooks/{n}.html" for n in NAMES)]:
        assert expected in pages

    with _serve(out) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                     headless=True)
        try:
            page = browser.new_page()
            errors: list[str] = []
            outside: list[str] = []
            page.on("console", lambda m: errors.append(f"{page.url}: {m.text}")
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
            page.on("response", lambda r: errors.append(f"{r.url}: HTTP {r.status}")
                    if r.status >= 400 else None)
            page.on("request", lambda r: outside.append(r.url)
                    if urlsplit(r.url).hostname not in (None, "127.0.0.1")
                    and not r.url.startswith("data:") else None)
            ids: dict[str, set[str]] = {}
            links: set[str] = set()
            for rel in pages:
                response = page.goto(base + rel, wait_until="load")
                assert response is not None and response.status == 200, rel
                images = page.evaluate("""async () => {
                    const imgs = Array.from(document.images);
                    await Promise.all(imgs.map(i => i.decode().catch(() => null)));
                    return imgs.map(i => [i.getAttribute('src'), i.naturalWidth]);
                }""")
                assert all(width > 0 for _src, width in images), (rel, images)
                if rel.startswith("notebooks/"):
                    assert any("_images/" in str(src) for src, _w in images), rel  # the figure
                    assert page.locator("table.dataframe").count() >= 1, rel  # the pandas table
                    page.wait_for_selector("mjx-container", timeout=15_000)  # MathJax, offline
                ids[base + rel] = set(page.evaluate(
                    "() => Array.from(document.querySelectorAll('[id]')).map(e => e.id)"))
                links |= set(page.evaluate(
                    "() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"))

            index = page.goto(base + "index.html")
            assert index is not None and index.status == 200
            order = page.evaluate("""() => Array.from(
                document.querySelectorAll('nav.bd-docs-nav a.reference.internal'))
                .map(a => a.getAttribute('href'))""")
            shown = [h.split("/")[-1].removesuffix(".html") for h in order if "notebooks/" in h]
            assert shown == NAMES, order

            checked = 0
            for link in sorted(links):
                if urlsplit(link).hostname != "127.0.0.1":
                    continue
                url, fragment = urldefrag(link)
                if url not in ids:  # not a page: an image, a file of the theme, ...
                    status = page.request.get(url).status
                    assert status == 200, (link, status)
                elif fragment:
                    assert fragment in ids[url], f"{link}: no element with that id"
                checked += 1
            assert checked > 20
        finally:
            browser.close()
    assert errors == [], errors
    assert outside == [], f"the site fetched from outside 127.0.0.1: {outside[:5]}"
