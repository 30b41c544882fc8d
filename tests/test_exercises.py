"""Exercises with checks: every check passes on the reference, fails on each listed wrong answer
and on a missing one, and every model notebook (03-16) has at least two, in cells the student
copy can strip."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import torch

from ganlab.course.student import BEGIN, END, exercise_cells, strip_solutions, student_notebook
from ganlab.exercises import Case, ExerciseFailed, check, exercises, get, register
from ganlab.exercises.compare import compare_outputs

ROOT = Path(__file__).resolve().parents[1]
MODEL_NOTEBOOKS = [p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) if 3 <= int(p.name[:2]) <= 16]
ALL = exercises()


def test_registry_is_not_empty_and_ids_are_notebook_numbers() -> None:
    assert len(ALL) >= 2 * len(MODEL_NOTEBOOKS)
    for ex in ALL:
        assert 3 <= int(ex.id[:2]) <= 16, ex.id
        assert ex.wrong, f"{ex.id}: list at least one wrong answer the check must catch"


@pytest.mark.parametrize("ex", ALL, ids=[e.id for e in ALL])
def test_reference_passes(ex, capsys) -> None:
    result = check(ex.id, ex.reference)
    assert result.cases == len(ex.cases()) >= 1
    assert f"✓ Exercise {ex.id}" in capsys.readouterr().out


@pytest.mark.parametrize("ex", ALL, ids=[e.id for e in ALL])
def test_every_wrong_answer_fails_with_a_hint(ex) -> None:
    for wrong in ex.wrong:
        with pytest.raises(ExerciseFailed) as info:
            check(ex.id, wrong, quiet=True)
        msg = str(info.value)
        assert msg.startswith(f"✗ Exercise {ex.id}") and "Hint:" in msg, msg
        assert "on case" in msg, f"{ex.id}: {wrong.__name__} should fail on a named case: {msg}"


@pytest.mark.parametrize("ex", ALL, ids=[e.id for e in ALL])
def test_missing_answer_says_not_done(ex) -> None:
    def todo(*args, **kwargs):
        raise NotImplementedError("exercise: write your code here")

    with pytest.raises(ExerciseFailed, match="not done yet"):
        check(ex.id, todo, quiet=True)


def test_an_answer_that_raises_is_named_not_traced() -> None:
    def broken(*args, **kwargs):
        return torch.zeros(2, 3) @ torch.zeros(4, 5)

    with pytest.raises(ExerciseFailed, match="your function raised RuntimeError") as info:
        check("03.g_loss_nonsaturating", broken, quiet=True)
    assert info.value.__suppress_context__


def test_bad_calls_are_value_errors() -> None:
    with pytest.raises(ValueError, match="no exercise '03.nope'; known: 03."):
        get("03.nope")
    with pytest.raises(ValueError, match="needs the function you wrote"):
        check("03.g_loss_nonsaturating", 3)
    with pytest.raises(ValueError, match="two-digit notebook number"):
        register("3.x", title="", hint="", reference=abs, cases=lambda: [Case("a", (1,))])
    with pytest.raises(ValueError, match="registered twice"):
        register("03.g_loss_nonsaturating", title="", hint="", reference=abs, cases=lambda: [])


@pytest.mark.parametrize(("got", "expected", "needle"), [
    (torch.zeros(3), torch.zeros(3, 1), "shape (3, 1)"),
    (torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.5]), "largest difference is 0.5 at index (1,)"),
    (torch.tensor(float("nan")), torch.tensor(1.0), "non-finite"),
    (torch.tensor([float("nan"), 1.0]), torch.tensor([1.0, 1.0]), "non-finite"),
    (torch.tensor([1, 2]), torch.tensor([1, 3]), "1 of 2 values differ"),
    (torch.tensor([1.0, 2.0]), torch.tensor([1, 2]), "expected a torch.int64 tensor"),
    ({"a": 1.0}, {"a": 1.0, "b": 2.0}, "missing key(s) ['b']"),
    ((1.0,), (1.0, 2.0), "expected 2 items"),
    ("x", 1.0, "expected a number"),
    (0.9, 1.0, "expected 1, got 0.9"),
])
def test_compare_describes_the_first_difference(got, expected, needle) -> None:
    msg = compare_outputs(got, expected)
    assert msg is not None and needle in msg, msg


def test_compare_accepts_within_tolerance() -> None:
    assert compare_outputs((torch.ones(2) + 1e-7, {"k": 2}), (torch.ones(2), {"k": 2})) is None
    assert compare_outputs(torch.tensor(2.0), 2.0) is None


# ----------------------------------------------------------------------------- the notebooks
def _nb(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", MODEL_NOTEBOOKS, ids=[p.stem for p in MODEL_NOTEBOOKS])
def test_model_notebook_has_two_checked_exercises(path: Path) -> None:
    nb = _nb(path)
    found = exercise_cells(nb)
    ids = [i for _, ids in found for i in ids]
    assert len(set(ids)) >= 2, f"{path.name}: {len(set(ids))} exercises checked; at least 2 expected"
    for cell_index, cell_ids in found:
        assert cell_ids, f"{path.name}: exercise cell {cell_index} is not followed by a check cell"
        for i in cell_ids:
            assert i.startswith(path.name[:2] + "."), f"{path.name} checks another notebook's exercise {i}"
            get(i)  # registered
        src = "".join(nb["cells"][cell_index]["source"])
        stripped = strip_solutions(src)
        assert BEGIN not in stripped and END not in stripped

        def defs(code: str) -> set[str]:
            return {n.name for n in ast.parse(code).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}

        assert defs(src) == defs(stripped), f"{path.name}: the student copy must define the same names"


def test_every_registered_exercise_is_used_by_its_notebook() -> None:
    used = {i for p in MODEL_NOTEBOOKS for _, ids in exercise_cells(_nb(p)) for i in ids}
    assert {e.id for e in ALL} <= used, sorted({e.id for e in ALL} - used)


def test_student_copies_have_no_solutions(tmp_path: Path) -> None:
    from ganlab.course.student import main

    assert main(["--out", str(tmp_path), *map(str, MODEL_NOTEBOOKS)]) == 0
    for path in MODEL_NOTEBOOKS:
        text = (tmp_path / path.name).read_text(encoding="utf-8")
        assert BEGIN not in text and END not in text
        assert "raise NotImplementedError" in text
        assert student_notebook(path.read_text(encoding="utf-8")) == text


def test_strip_solutions_keeps_indentation_and_rejects_bad_markers() -> None:
    src = f"def f(x):\n    '''doc'''\n    {BEGIN}\n    y = x + 1\n    return y\n    {END}\n"
    out = strip_solutions(src)
    assert "    raise NotImplementedError" in out and "y = x + 1" not in out and "'''doc'''" in out
    for bad in (f"{BEGIN}\nx = 1\n", f"x = 1\n{END}\n", "x = 1\n", f"{BEGIN}\n{BEGIN}\n{END}\n{END}\n"):
        with pytest.raises(ValueError):
            strip_solutions(bad)
