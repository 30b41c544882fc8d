"""The Colab path: one setting names the course's home, one command re-points it, the setup cell
fails with one clear message, and shipped checkpoints download verified and atomically.

Servers bind 127.0.0.1 and are stopped by the tests; nothing is installed (every pip run in here
fails by design, inside a throwaway interpreter that cannot see ganlab).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ganlab.course.pretrained as pretrained
import ganlab.course.stamping as stamping
from ganlab.course.pretrained import PretrainedError, download_checkpoint, load_generator
from ganlab.course.stamping import setup_cell_source

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import repoint  # noqa: E402

SMALL = "stylegan_shapes"  # the smallest shipped checkpoint (0.4 MB)
STEMS = ("00_setup_and_data", "01_gan_theory")


@pytest.fixture(autouse=True)
def _no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("GANLAB_REPO", "GANLAB_REF", "GANLAB_CHECKPOINT_URL", "COLAB_RELEASE_TAG"):
        monkeypatch.delenv(var, raising=False)


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static files, no request log on stderr."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """Say nothing."""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """(folder, base URL) of a static HTTP server on 127.0.0.1, stopped after the test."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}/checkpoints"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --- one setting: course.toml ---------------------------------------------------------------

def test_pinned_sums_are_the_shipped_files() -> None:
    manifest = json.loads((ROOT / "data" / "checkpoints" / "manifest.json").read_text())["entries"]
    assert {k: v["sha256"] for k, v in manifest.items()} == pretrained.SHIPPED_SHA256, (
        "data/checkpoints changed (make checkpoints): copy the new sums into "
        "ganlab/course/pretrained.py SHIPPED_SHA256")
    assert set(pretrained.SHIPPED_SHA256) == set(pretrained.SPECS)


def test_checkpoint_url_follows_course_toml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stamping, "course_config", lambda: {"repo": "my-school/gl", "ref": "v2"})
    assert pretrained.checkpoint_url("dcgan_shapes") == (
        "https://raw.githubusercontent.com/my-school/gl/v2/data/checkpoints/dcgan_shapes.pt")
    monkeypatch.setenv("GANLAB_REPO", "fork/gl")
    monkeypatch.setenv("GANLAB_REF", "dev")
    assert "githubusercontent.com/fork/gl/dev/" in pretrained.checkpoint_url("x")
    monkeypatch.setenv("GANLAB_REPO", "file:///somewhere")  # a git URL: not a raw-file host
    assert "githubusercontent.com/my-school/gl/dev/" in pretrained.checkpoint_url("x")
    monkeypatch.setenv("GANLAB_CHECKPOINT_URL", "http://127.0.0.1:1/c/")
    assert pretrained.checkpoint_url("x") == "http://127.0.0.1:1/c/x.pt"


# --- shipped-checkpoint downloads ------------------------------------------------------------

def test_download_verified_and_loadable(served: tuple[Path, str], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    folder, url = served
    (folder / "checkpoints").mkdir()
    shutil.copy2(ROOT / "data" / "checkpoints" / f"{SMALL}.pt", folder / "checkpoints" / f"{SMALL}.pt")
    monkeypatch.setenv("GANLAB_CHECKPOINT_URL", url)
    dest = tmp_path / "cache"
    path = download_checkpoint(SMALL, dest)
    assert path == dest / f"{SMALL}.pt"
    assert sorted(p.name for p in dest.iterdir()) == ["manifest.json", f"{SMALL}.pt"]  # no temp files
    entry = json.loads((dest / "manifest.json").read_text())["entries"][SMALL]
    assert entry["sha256"] == pretrained.SHIPPED_SHA256[SMALL] and url in entry["command"]
    assert not load_generator(SMALL, dest).training


def test_tampered_download_rejected_nothing_written(served: tuple[Path, str], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    folder, url = served
    (folder / "checkpoints").mkdir()
    data = bytearray((ROOT / "data" / "checkpoints" / f"{SMALL}.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "checkpoints" / f"{SMALL}.pt").write_bytes(bytes(data))
    monkeypatch.setenv("GANLAB_CHECKPOINT_URL", url)
    dest = tmp_path / "cache"
    with pytest.raises(PretrainedError, match="not the course's file.*nothing was written"):
        download_checkpoint(SMALL, dest)
    assert not dest.exists()
    # a cache that already holds something is left exactly as it was
    dest.mkdir()
    (dest / "keep.txt").write_text("x")
    with pytest.raises(PretrainedError):
        download_checkpoint(SMALL, dest)
    assert [p.name for p in dest.iterdir()] == ["keep.txt"]


def test_download_missing_and_offline_are_one_line(served: tuple[Path, str], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    _, url = served
    monkeypatch.setenv("GANLAB_CHECKPOINT_URL", url)
    with pytest.raises(PretrainedError, match=r"HTTP 404 .*course\.toml's repository public"):
        download_checkpoint(SMALL, tmp_path / "a")
    monkeypatch.setenv("GANLAB_CHECKPOINT_URL", f"http://127.0.0.1:{_closed_port()}/checkpoints")
    with pytest.raises(PretrainedError, match=r"could not download .*no internet in this runtime"):
        download_checkpoint(SMALL, tmp_path / "a")
    assert pretrained._download(SMALL, tmp_path / "a") is False  # what load_or_train sees
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "Traceback" not in out and "could not download" in out
    assert not (tmp_path / "a").exists()


# --- one command: tools/repoint.py -----------------------------------------------------------

@pytest.mark.parametrize("given, expected", [
    ("my-school/ganlab", "my-school/ganlab"),
    ("https://github.com/my-school/ganlab.git", "my-school/ganlab"),
    (" git@github.com:a1/b.c_d ", "a1/b.c_d"),
])
def test_parse_repo_accepts(given: str, expected: str) -> None:
    assert repoint.parse_repo(given) == expected


@pytest.mark.parametrize("bad", ["", "ganlab", "a/b/c", "-a/b", "a/", "a b/c", "a/..",
                                 "https://gitlab.com/a/b", "a--b/c"])
def test_parse_repo_refuses(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a GitHub owner/name"):
        repoint.parse_repo(bad)


@pytest.mark.parametrize("bad", ["", "a b", "-x", "a..b", "x/", "x.lock", "a~1"])
def test_check_ref_refuses(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a branch, tag or commit"):
        repoint.check_ref(bad)


def _notebook(title: str) -> str:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": [f"# {title}\n", "\n", "Text."]},
             {"cell_type": "code", "metadata": {}, "source": ["import ganlab"], "outputs": [],
              "execution_count": None},
             {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": ["PROFILE = 'quick'"],
              "outputs": [], "execution_count": None}]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"


@pytest.fixture
def course_copy(tmp_path: Path) -> Path:
    """A course checkout in miniature: the working tree's package and tools, the README's
    syllabus lines, and two synthetic notebooks (the real ones are never touched)."""
    root = tmp_path / "course"
    shutil.copytree(ROOT / "ganlab", root / "ganlab",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pt"))
    (root / "tools").mkdir()
    for tool in ("stamp_notebooks.py", "repoint.py"):
        shutil.copy2(ROOT / "tools" / tool, root / "tools" / tool)
    old = repoint.read_course(ROOT)
    badge = f"https://colab.research.google.com/github/{old['repo']}/blob/{old['ref']}/notebooks/{STEMS[0]}.ipynb"
    (root / "README.md").write_text(f"| 00 | a | [![Open In Colab](x.svg)]({badge}) |\n"
                                    f"git clone https://github.com/{old['repo']}.git\n")
    (root / "notebooks").mkdir()
    for stem in STEMS:  # real names (the stamper knows each notebook), synthetic content
        (root / "notebooks" / f"{stem}.ipynb").write_text(_notebook(stem))
    return root


def test_repoint_rewrites_every_place(course_copy: Path) -> None:
    toml_before = (course_copy / repoint.COURSE_TOML).read_text()
    changed = repoint.repoint(course_copy, "https://github.com/my-school/gl-fork", "spring-2026")
    names = sorted(str(p.relative_to(course_copy)) for p in changed)
    assert names == ["README.md", "ganlab/course/course.toml", *(f"notebooks/{s}.ipynb" for s in STEMS)]
    toml = (course_copy / repoint.COURSE_TOML).read_text()
    assert repoint.read_course(course_copy) == {"repo": "my-school/gl-fork", "ref": "spring-2026"}
    assert [ln for ln in toml.splitlines() if ln.startswith("#")] == \
        [ln for ln in toml_before.splitlines() if ln.startswith("#")]  # comments kept
    readme = (course_copy / "README.md").read_text()
    new_badge = f"colab.research.google.com/github/my-school/gl-fork/blob/spring-2026/notebooks/{STEMS[0]}.ipynb"
    assert new_badge in readme
    assert "git clone https://github.com/my-school/gl-fork.git" in readme
    nb = json.loads((course_copy / "notebooks" / f"{STEMS[0]}.ipynb").read_text())
    head, setup = "".join(nb["cells"][0]["source"]), "".join(nb["cells"][1]["source"])
    assert new_badge in head
    assert '"my-school/gl-fork"' in setup and '"spring-2026"' in setup
    # the download URL follows, read by the copy's own package
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GANLAB_", "PYTHONPATH"))}
    url = subprocess.run([sys.executable, "-c", "import ganlab.course.pretrained as p; "
                          "print(p.checkpoint_url('dcgan_shapes'))"], cwd=course_copy, env=env,
                         capture_output=True, text=True, check=True).stdout.strip()
    assert url == ("https://raw.githubusercontent.com/my-school/gl-fork/spring-2026/"
                   "data/checkpoints/dcgan_shapes.pt")
    # a second run changes nothing
    assert repoint.repoint(course_copy, "my-school/gl-fork", "spring-2026") == []


def test_repoint_refuses_bad_input_and_writes_nothing(course_copy: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    before = {p: p.read_bytes() for p in course_copy.rglob("*") if p.is_file()}
    assert repoint.main(["--repo", "not a repo", "--root", str(course_copy)]) == 2
    assert repoint.main(["--repo", "a/b", "--ref", "bad ref", "--root", str(course_copy)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["repoint: repository 'not a repo' is not a GitHub owner/name (for example "
                   "'my-school/ganlab', or https://github.com/my-school/ganlab)",
                   "repoint: ref 'bad ref' is not a branch, tag or commit name (for example 'main', "
                   "'v1.0' or 'spring-2026')"]
    assert {p: p.read_bytes() for p in course_copy.rglob("*") if p.is_file()} == before


# --- the setup cell ----------------------------------------------------------------------------

def _run_cell_here(env_extra: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GANLAB_")} | env_extra
    return subprocess.run([sys.executable, "-c", setup_cell_source()], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("colab", [False, True])
def test_setup_cell_only_imports_when_ganlab_is_there(colab: bool, tmp_path: Path) -> None:
    """Off Colab (papermill, make run-all), or on Colab once installed: no pip, just the import."""
    env = {"GANLAB_REPO": f"file://{tmp_path}/nowhere"} | ({"COLAB_RELEASE_TAG": "x"} if colab else {})
    done = _run_cell_here(env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Installing" not in done.stdout and "torch" in done.stdout


def _git_repo(path: Path, files: dict[str, str]) -> Path:
    path.mkdir()
    for name, text in files.items():
        (path / name).write_text(text)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q"], cwd=path, check=True)
    subprocess.run([*git, "add", "."], cwd=path, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=path, check=True)
    return path


@pytest.fixture
def colab_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A Jupyter kernel that looks like a fresh Colab runtime: ``COLAB_RELEASE_TAG`` set and
    ganlab not importable (a throwaway interpreter that sees this venv's packages through a plain
    path entry, so the editable install's finder is not loaded)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "ganlab_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    spec = tmp_path / "jupyter" / "kernels" / "fresh-colab"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "fresh Colab (test)", "language": "python",
        "env": {"COLAB_RELEASE_TAG": "test", "PYTHONPATH": "", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return "fresh-colab"


def _nb(*sources: str) -> Any:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def _error_of(cell: Any) -> dict[str, Any]:
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert len(errors) == 1, cell.outputs
    return errors[0]


@pytest.mark.notebook
@pytest.mark.slow
def test_setup_cell_failure_stops_papermill_with_one_message(colab_kernel: str, tmp_path: Path) -> None:
    """A repository that does not exist: the run stops at the setup cell with the message alone."""
    import nbformat
    import papermill

    nowhere = f"file://{tmp_path}/no-such-repo"
    src = tmp_path / "in.ipynb"
    nbformat.write(_nb(f"%env GANLAB_REPO={nowhere}", setup_cell_source(), "print('not reached')"), src)
    with pytest.raises(papermill.PapermillExecutionError) as info:
        papermill.execute_notebook(str(src), str(tmp_path / "out.ipynb"), kernel_name=colab_kernel,
                                   cwd=str(tmp_path), progress_bar=False)
    assert info.value.ename == "GanlabSetupError"
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    code = [c for c in out.cells if c.cell_type == "code"]  # papermill adds a markdown cell
    setup = code[1]
    streams = "".join(o.get("text", "") for o in setup.outputs if o.output_type == "stream")
    assert streams == f"Installing ganlab from {nowhere}@main (torch is kept as Colab ships it) ...\n"
    shown = "\n".join(_error_of(setup).traceback)
    print(shown)
    assert shown.splitlines()[:2] == [
        f"ganlab setup failed: could not install ganlab from {nowhere}@main.",
        f"  Likely cause: no repository {nowhere} (or it is private)."]
    assert "does not appear to be a git repository" in shown and "%env GANLAB_REPO=owner/name" in shown
    assert "Traceback" not in shown and 'File "' not in shown and len(shown.splitlines()) == 5
    assert code[2].outputs == [] and code[2].execution_count is None  # the notebook stopped


@pytest.mark.notebook
@pytest.mark.slow
def test_setup_cell_names_each_cause(colab_kernel: str, tmp_path: Path) -> None:
    """No network, a wrong ref, a pip error: each one message with its own cause and advice."""
    from nbclient import NotebookClient

    plain = _git_repo(tmp_path / "plain", {"README": "not a Python project\n"})
    cases = {  # env lines -> (cause, advice)
        f"GANLAB_REPO=https://127.0.0.1:{_closed_port()}/o/n": ("this runtime has no internet",
                                                                "check the connection"),
        f"GANLAB_REPO=file://{plain}\n%env GANLAB_REF=no-such-ref": (
            f"file://{plain} has no branch, tag or commit no-such-ref", "%env GANLAB_REF=main"),
        f"GANLAB_REPO=file://{plain}\n%env GANLAB_REF=main": ("pip could not install it",
                                                              "send this message to the course owner"),
    }
    sources = []
    for env in cases:
        sources += [f"%env {env}", setup_cell_source()]
    nb = _nb(*sources)
    NotebookClient(nb, kernel_name=colab_kernel, allow_errors=True, timeout=300,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    for i, (cause, advice) in enumerate(cases.values()):
        shown = "\n".join(_error_of(nb.cells[2 * i + 1]).traceback)
        print(shown)
        lines = shown.splitlines()
        assert len(lines) == 5 and lines[0].startswith("ganlab setup failed: could not install ganlab from ")
        assert lines[1] == f"  Likely cause: {cause}." and advice in lines[3]
        assert "Traceback" not in shown and 'File "' not in shown
