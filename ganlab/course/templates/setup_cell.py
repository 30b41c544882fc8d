# Common setup cell: stamped into every notebook from ganlab/course/templates/setup_cell.py by
# tools/stamp_notebooks.py (edit the template, not this copy). On Colab it installs ganlab from
# the course repository without touching Colab's torch; elsewhere it only imports.
# Another repository or branch: run `%env GANLAB_REPO=owner/name` (or GANLAB_REF=...) first.
import importlib.util
import os
import subprocess
import sys

GANLAB_REPO = os.environ.get("GANLAB_REPO", "{repo}")  # GitHub owner/name, or a git URL
GANLAB_REF = os.environ.get("GANLAB_REF", "{ref}")
IN_COLAB = "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ
if IN_COLAB and importlib.util.find_spec("ganlab") is None:
    url = GANLAB_REPO if "://" in GANLAB_REPO else f"https://github.com/{{GANLAB_REPO}}"
    print(f"Installing ganlab from {{url}}@{{GANLAB_REF}} (torch is kept as Colab ships it) ...")
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-color",
                          f"ganlab[colab] @ git+{{url}}@{{GANLAB_REF}}"], capture_output=True, text=True)
    if pip.returncode != 0:  # one message, no traceback: what failed, the likely cause, what to do
        said = [s.strip() for s in (pip.stderr + pip.stdout).splitlines() if s.strip()] or ["(nothing)"]
        said = next((s for s in said if s.startswith(("fatal:", "error: pathspec"))), said[-1])
        cause, todo = "pip could not install it", "run this cell again; if it fails again, send this message to the course owner"
        for words, c, t in [
            (("resolve host", "connect to", "unreachable", "timed out"), "this runtime has no internet",
             "check the connection (Runtime > Disconnect and delete runtime), then run this cell again"),
            (("not appear to be a git", "not found", "Username"), f"no repository {{GANLAB_REPO}} (or it is private)",
             "run `%env GANLAB_REPO=owner/name` with the course's repository, then this cell again"),
            (("did not match", "unknown revision", "not a tree"), f"{{GANLAB_REPO}} has no branch, tag or commit {{GANLAB_REF}}",
             "run `%env GANLAB_REF=main` (or the course's branch), then this cell again"),
        ]:
            if any(w in said for w in words):
                cause, todo = c, t
                break

        class GanlabSetupError(Exception):
            """Shown by Jupyter, Colab and papermill as its message alone (no traceback)."""

            def _render_traceback_(self) -> list[str]:
                return str(self).splitlines()

        raise GanlabSetupError(f"ganlab setup failed: could not install ganlab from {{url}}@{{GANLAB_REF}}.\n"
                               f"  Likely cause: {{cause}}.\n  pip said: {{said}}\n  What to do: {{todo}}.\n"
                               "  (Course owners: fork and `make repoint`; see the README.)")
import ganlab  # noqa: E402

print(ganlab.environment_report())
