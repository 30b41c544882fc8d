# Common setup cell: stamped into every notebook from ganlab/course/templates/setup_cell.py by
# tools/stamp_notebooks.py (edit the template, not this copy). On Colab it installs ganlab from
# the course repository without touching Colab's torch; elsewhere it only imports.
import importlib.util
import os
import subprocess
import sys

GANLAB_REPO = "https://github.com/{repo}"
GANLAB_REF = "{ref}"
IN_COLAB = "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ
if IN_COLAB and importlib.util.find_spec("ganlab") is None:
    print(f"Installing ganlab from {{GANLAB_REPO}}@{{GANLAB_REF}} (torch is kept as Colab ships it) ...")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q",
         f"ganlab[colab] @ git+{{GANLAB_REPO}}@{{GANLAB_REF}}"],
        check=True,
    )
import ganlab  # noqa: E402

print(ganlab.environment_report())
