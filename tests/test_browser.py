"""A real browser drives the interpolation widget: Voilà serves it, Chromium moves the t slider.

The test starts Voilà on 127.0.0.1 (free port, no browser, the running interpreter as the only
``python3`` kernel) serving ``tests/assets/interp_widget.ipynb``, opens it in Debian's Chromium
through Playwright, focuses the ``t`` slider's handle, presses ArrowRight and End, and checks that
the image the kernel sends back changes each time (the PNG bytes behind the ``<img>`` blob URL
are fetched and compared); then, on the second widget (a StyleGAN-lite generator), moves the
style-mixing slider to layer 0 and the truncation ψ slider to 0, each of which must change its
image. Screenshots go to ``build/browser/``.

Needs the Debian package ``chromium`` (``apt-get install chromium``; never ``playwright
install``). Without it the test is skipped, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "tests" / "assets" / "interp_widget.ipynb"
SHOTS = ROOT / "build" / "browser"
# Debian's Chromium; GANLAB_CHROMIUM may point elsewhere (never `playwright install`).
CHROMIUM = Path(os.environ.get("GANLAB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_TIMEOUT = 60.0  # s until Voilà answers HTTP
RENDER_TIMEOUT_MS = 120_000  # first render: kernel start + imports + widget (20-40 s here)
UPDATE_TIMEOUT_MS = 30_000  # one slider move -> new image from the kernel


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> None:
    """Skip locally, fail under CI: a CI run must really exercise the browser."""
    if _in_ci():
        pytest.fail(f"{reason} (CI is set, so the browser test may not be skipped)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return "(no log)"


def _stop(proc: subprocess.Popen) -> None:
    """Stop Voilà and its kernels: SIGTERM to its own process group, SIGKILL after 15 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture
def voila_url(tmp_path):
    """Start Voilà on the fixture notebook; yield its URL; always stop it."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found: install the Debian package `chromium` "
                     "(apt-get update && apt-get install -y chromium)")
    try:
        import voila  # noqa: F401
    except ImportError:
        _unavailable("the Python package `voila` is not installed (pip install voila)")

    # A private Jupyter path whose only `python3` kernel is this very interpreter (the venv's).
    jpath = tmp_path / "jupyter"
    spec = jpath / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "ganlab test kernel",
        "language": "python",
    }))
    env = {
        **os.environ,
        "JUPYTER_PATH": str(jpath),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "OMP_NUM_THREADS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    log = tmp_path / "voila.log"
    proc = None
    try:
        for _attempt in range(3):  # a port taken between choosing and binding: try another
            port = _free_port()
            cmd = [
                sys.executable, "-m", "voila", str(NOTEBOOK), "--no-browser",
                f"--port={port}", "--Voila.ip=127.0.0.1", "--Voila.port_retries=0",
                "--VoilaConfiguration.show_tracebacks=True",
            ]
            with open(log, "ab") as fh:
                proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
            url = f"http://127.0.0.1:{port}/"
            deadline = time.monotonic() + SERVER_TIMEOUT
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    with urllib.request.urlopen(url + "api", timeout=5):
                        break
                except urllib.error.HTTPError:  # any HTTP answer means the server is up
                    break
                except (urllib.error.URLError, OSError):
                    time.sleep(0.5)
            if proc.poll() is None:
                break
        else:
            pytest.fail(f"Voilà did not start; log:\n{_tail(log)}")
        if proc.poll() is not None:
            pytest.fail(f"Voilà exited with code {proc.returncode}; log:\n{_tail(log)}")
        yield url, log
    finally:
        if proc is not None:
            _stop(proc)


_FETCH_IMAGE = """async (i) => {
  const img = document.querySelectorAll('img.ganlab-image')[i];
  const buf = await (await fetch(img.src)).arrayBuffer();
  return {src: img.src, bytes: Array.from(new Uint8Array(buf))};
}"""

_SRC_CHANGED = """([i, old]) => {
  const img = document.querySelectorAll('img.ganlab-image')[i];
  return img && img.src !== old && img.complete && img.naturalWidth > 0;
}"""


def test_slider_moves_redraw_image_in_voila(voila_url):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package `playwright` is not installed (pip install playwright)")
    url, log = voila_url
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                    headless=True, timeout=60_000)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.set_default_timeout(UPDATE_TIMEOUT_MS)
            page.goto(url, wait_until="domcontentloaded", timeout=RENDER_TIMEOUT_MS)
            try:
                page.wait_for_function(
                    "() => { const s = document.querySelectorAll('img.ganlab-image');"
                    " return s.length == 2 && [...s].every(i => i.complete && i.naturalWidth > 0); }",
                    timeout=RENDER_TIMEOUT_MS,
                )
            except Exception:
                page.screenshot(path=str(SHOTS / "interpolation_widget_timeout.png"), full_page=True)
                raise AssertionError(
                    "the widget's image did not appear; page text:\n"
                    f"{page.inner_text('body')[-2000:]}\nVoilà log:\n{_tail(log)}"
                ) from None

            handle = page.locator(".ganlab-t-slider .noUi-handle").first
            readout = page.locator(".ganlab-t-slider .widget-readout").first
            start = page.evaluate(_FETCH_IMAGE, 0)
            assert start["bytes"][:8] == [137, 80, 78, 71, 13, 10, 26, 10]  # a PNG
            t0 = float(readout.inner_text())

            handle.focus()
            handle.press("ArrowRight")
            page.wait_for_function(_SRC_CHANGED, arg=[0, start["src"]])
            step = page.evaluate(_FETCH_IMAGE, 0)
            assert float(readout.inner_text()) > t0
            assert step["bytes"] != start["bytes"], "ArrowRight on t did not change the image"

            handle.press("End")
            page.wait_for_function(_SRC_CHANGED, arg=[0, step["src"]])
            end = page.evaluate(_FETCH_IMAGE, 0)
            assert float(readout.inner_text()) == pytest.approx(1.0)
            assert end["bytes"] != step["bytes"], "End on t did not change the image"

            page.locator("img.ganlab-image").first.screenshot(path=str(SHOTS / "interpolation_image_t1.png"))

            # the StyleGAN-lite widget: the mixing layer from L to 0 (Home: every style from the mix
            # seed), then truncation psi from 1 to 0 (Home: the mean w's image)
            before = page.evaluate(_FETCH_IMAGE, 1)
            mix = page.locator(".ganlab-mix-slider .noUi-handle").first
            mix.focus()
            mix.press("Home")
            page.wait_for_function(_SRC_CHANGED, arg=[1, before["src"]])
            mixed = page.evaluate(_FETCH_IMAGE, 1)
            assert mixed["bytes"] != before["bytes"], "mixing from layer 0 did not change the image"
            psi = page.locator(".ganlab-psi-slider .noUi-handle").first
            psi_readout = page.locator(".ganlab-psi-slider .widget-readout").first
            assert float(psi_readout.inner_text()) == pytest.approx(1.0)
            psi.focus()
            psi.press("Home")
            page.wait_for_function(_SRC_CHANGED, arg=[1, mixed["src"]])
            truncated = page.evaluate(_FETCH_IMAGE, 1)
            assert float(psi_readout.inner_text()) == pytest.approx(0.0)
            assert truncated["bytes"] != mixed["bytes"], "psi = 0 did not change the image"
            page.locator("img.ganlab-image").nth(1).screenshot(path=str(SHOTS / "style_widget_truncated.png"))
            page.screenshot(path=str(SHOTS / "interpolation_widget.png"), full_page=True)
        finally:
            browser.close()
