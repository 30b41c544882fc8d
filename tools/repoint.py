"""Point the course at another GitHub repository (a fork, or the course's new home) in one step.

Usage: ``python tools/repoint.py --repo owner/name [--ref main] [--root .] [--no-stamp]``
(``make repoint REPO=owner/name [REF=main]``).

``ganlab/course/course.toml`` is the one place that names the course's home; this tool rewrites
its ``repo`` and ``ref``, then re-stamps every notebook (Colab badge + setup cell, through the
root's own ``tools/stamp_notebooks.py``) and rewrites the Colab badges of the README's syllabus.
The shipped-checkpoint download URL is built from ``course.toml`` at run time, so it follows.
A malformed repository or ref is refused before anything is written (exit status 2).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["parse_repo", "check_ref", "read_course", "rewrite_course_toml", "rewrite_readme",
           "repoint", "main"]

ROOT = Path(__file__).resolve().parents[1]
COURSE_TOML = Path("ganlab/course/course.toml")
# GitHub: owner = letters, digits and single hyphens (max 39); repository = letters, digits, . _ -
_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
_NAME = r"[A-Za-z0-9._-]{1,100}"
_URL = re.compile(rf"^(?:https?://|git@)github\.com[/:]({_OWNER})/({_NAME}?)(?:\.git)?/?$")
_REF = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")


def parse_repo(value: str) -> str:
    """``owner/name`` from ``value`` (``owner/name`` or a github.com URL of it).

    Raises:
        ValueError: not a GitHub ``owner/name``, naming what was given and an example.
    """
    text = value.strip()
    url = _URL.match(text)
    if url:
        text = f"{url.group(1)}/{url.group(2)}"
    parts = text.split("/")
    if (len(parts) != 2 or not re.fullmatch(_OWNER, parts[0]) or not re.fullmatch(_NAME, parts[1])
            or parts[1] in {".", ".."} or parts[1].endswith(".git")):
        raise ValueError(f"repository {value!r} is not a GitHub owner/name (for example "
                         f"'my-school/ganlab', or https://github.com/my-school/ganlab)")
    return text


def check_ref(value: str) -> str:
    """``value`` if it can be a git branch, tag or commit name.

    Raises:
        ValueError: empty, with spaces or characters git refuses, or with ``..``.
    """
    ref = value.strip()
    if (not _REF.fullmatch(ref) or ".." in ref or ref.startswith(("-", "/", "."))
            or ref.endswith(("/", ".", ".lock"))):
        raise ValueError(f"ref {value!r} is not a branch, tag or commit name (for example 'main', "
                         f"'v1.0' or 'spring-2026')")
    return ref


def read_course(root: Path) -> dict[str, str]:
    """The ``[course]`` table of ``root``'s ``course.toml`` (``repo`` and ``ref``).

    Raises:
        ValueError: the file is missing or cannot be parsed.
    """
    path = root / COURSE_TOML
    try:
        course = tomllib.loads(path.read_text(encoding="utf-8"))["course"]
        return {"repo": str(course["repo"]), "ref": str(course.get("ref", "main"))}
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read {path} ({type(exc).__name__}: {exc}); is --root the "
                         f"course checkout?") from None


def rewrite_course_toml(text: str, repo: str, ref: str) -> str:
    """``course.toml``'s text with ``repo`` and ``ref`` replaced, comments and layout kept.

    Raises:
        ValueError: the file has no ``repo = "..."`` line.
    """
    def setting(key: str, value: str, text: str) -> tuple[str, int]:
        # keep an inline comment where it was (same column when the new value fits)
        def put(m: re.Match[str]) -> str:
            width = len(m.group(2)) + len(m.group(3)) - len(value) - 2
            return f'{m.group(1)}"{value}"' + (" " * max(1, width) if m.group(3) else "")
        return re.subn(rf'(?m)^({key}\s*=\s*)("[^"\n]*")([ \t]*(?=#)|)', put, text, count=1)

    new, n = setting("repo", repo, text)
    if n != 1:
        raise ValueError('course.toml has no line `repo = "owner/name"` to rewrite')
    new, n = setting("ref", ref, new)
    if n != 1:
        new = re.sub(r'(?m)^(repo\s*=.*)$', lambda m: f'{m.group(1)}\nref = "{ref}"', new, count=1)
    parsed = tomllib.loads(new)["course"]
    if (parsed["repo"], parsed["ref"]) != (repo, ref):  # pragma: no cover - defensive
        raise ValueError("course.toml could not be rewritten; edit its repo and ref by hand")
    return new


def rewrite_readme(text: str, old: dict[str, str], new: dict[str, str]) -> str:
    """``text`` with Colab badge links and GitHub links of ``old`` repo/ref pointing at ``new``."""
    text = text.replace(f"colab.research.google.com/github/{old['repo']}/blob/{old['ref']}/",
                        f"colab.research.google.com/github/{new['repo']}/blob/{new['ref']}/")
    return re.sub(rf"github\.com/{re.escape(old['repo'])}(?=[/)\s\"'`.#]|$)",
                  f"github.com/{new['repo']}", text)


def repoint(root: Path, repo: str, ref: str, stamp: bool = True) -> list[Path]:
    """Point the course checkout at ``root`` to ``repo`` at ``ref``; returns the files changed.

    Raises:
        ValueError: a malformed ``repo`` or ``ref``, or no course checkout at ``root``.
        RuntimeError: stamping the notebooks failed (its output is in the message).
    """
    repo, ref = parse_repo(repo), check_ref(ref)
    root = Path(root).resolve()
    old = read_course(root)
    changed: list[Path] = []
    toml = root / COURSE_TOML
    text = toml.read_text(encoding="utf-8")
    if (new := rewrite_course_toml(text, repo, ref)) != text:
        toml.write_text(new, encoding="utf-8")
        changed.append(toml)
    readme = root / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        if (new := rewrite_readme(text, old, {"repo": repo, "ref": ref})) != text:
            readme.write_text(new, encoding="utf-8")
            changed.append(readme)
    if stamp:
        # the root's own stamper, in a fresh interpreter, so it reads the root's course.toml and
        # template (not those of whichever ganlab this process imported)
        done = subprocess.run([sys.executable, str(root / "tools" / "stamp_notebooks.py")],
                              cwd=root, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"stamping the notebooks failed:\n{done.stdout}{done.stderr}")
        changed += [root / line.split(": ", 1)[1] for line in done.stdout.splitlines()
                    if line.startswith("stamped: ")]
    return changed


def main(argv: list[str] | None = None) -> int:
    """Command line: rewrite course.toml and re-stamp; exit 2 with one message on bad input."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True, help="GitHub owner/name of the course's home")
    parser.add_argument("--ref", default="main", help="branch, tag or commit (default: main)")
    parser.add_argument("--root", type=Path, default=ROOT, help="course checkout (default: this one)")
    parser.add_argument("--no-stamp", action="store_true", help="rewrite course.toml and README only")
    args = parser.parse_args(argv)
    try:
        changed = repoint(args.root, args.repo, args.ref, stamp=not args.no_stamp)
    except (ValueError, RuntimeError) as exc:
        print(f"repoint: {exc}", file=sys.stderr)
        return 2
    root = Path(args.root).resolve()
    for path in changed:
        print(f"rewrote: {path.relative_to(root)}")
    print(f"The course now points at https://github.com/{parse_repo(args.repo)} "
          f"(ref {check_ref(args.ref)}): commit these files and push them there.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
