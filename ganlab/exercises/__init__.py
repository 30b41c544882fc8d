"""Exercises with checks: the student writes the piece that matters, the package grades it.

A notebook's exercise is a code cell tagged ``exercise`` whose solution sits between a
``# BEGIN SOLUTION`` and an ``# END SOLUTION`` line (the course runs with the solutions filled
in; ``make student-notebooks`` writes copies without them, see :mod:`ganlab.course.student`).
The cell after it, tagged ``check``, calls::

    from ganlab.exercises import check
    check("03.d_loss_ranges", d_loss_by_hand)

:func:`check` runs the student's function and the package's reference on a few small inputs
(same random numbers for both; torch's global random state is restored afterwards, so a check
cell does not change what the notebook draws next) and either prints one line (``✓ ...: matches the reference on 3
cases``) or raises :class:`ExerciseFailed` with what was expected, what came out and a hint: no
deep stack trace. Exercises are registered per notebook in ``ganlab/exercises/nbNN.py`` with
:func:`register`; each also lists plausible wrong answers the tests feed to :func:`check` to
prove it can fail.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ganlab.exercises.compare import Mismatch, compare_outputs

__all__ = ["Case", "Exercise", "ExerciseFailed", "ExerciseResult", "check", "register", "get",
           "exercises", "Mismatch"]


class ExerciseFailed(AssertionError):
    """The student's answer does not match the reference; the message says how and gives a hint."""


@dataclass(frozen=True)
class Case:
    """One small input: positional and keyword arguments, and a label for the messages."""

    label: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Exercise:
    """A registered exercise.

    Attributes:
        id: ``"NN.name"``, NN = the notebook's number.
        title: what the student writes, in a few words.
        hint: one or two sentences shown with every failure.
        reference: the package's solution (same signature as the student's function).
        cases: builds the small inputs afresh (called once for the reference and once for the
            student, so an in-place change by one cannot leak into the other).
        observe: ``observe(fn, case) -> output``: how a function is run on a case and what of it
            is compared (default: its return value). Used when the answer is a side effect, e.g.
            the parameters after one optimiser step.
        wrong: plausible mistakes (same signature); the tests check that each one fails.
        atol, rtol: tolerance of the comparison of floating-point outputs.
        seed: torch's RNG is seeded with it before every call, so random targets or noise drawn
            inside the function are the same for the student and the reference.
    """

    id: str
    title: str
    hint: str
    reference: Callable[..., Any]
    cases: Callable[[], Sequence[Case]]
    observe: Callable[[Callable[..., Any], Case], Any] | None = None
    wrong: tuple[Callable[..., Any], ...] = ()
    atol: float = 1e-5
    rtol: float = 1e-4
    seed: int = 0

    def run(self, fn: Callable[..., Any], case: Case) -> Any:
        """``fn`` on ``case`` (torch seeded with :attr:`seed`), as :attr:`observe` says."""
        torch.manual_seed(self.seed)
        if self.observe is not None:
            return self.observe(fn, case)
        return fn(*case.args, **case.kwargs)


@dataclass(frozen=True)
class ExerciseResult:
    """What :func:`check` returns when the answer passes."""

    id: str
    cases: int

    def __repr__(self) -> str:
        return f"ExerciseResult({self.id!r}: passed {self.cases} cases)"


_REGISTRY: dict[str, Exercise] = {}
_LOADED = False


def register(id: str, *, title: str, hint: str, reference: Callable[..., Any],
             cases: Callable[[], Sequence[Case]], observe: Callable[[Callable[..., Any], Case], Any] | None = None,
             wrong: Sequence[Callable[..., Any]] = (), atol: float = 1e-5, rtol: float = 1e-4,
             seed: int = 0) -> Exercise:
    """Add an exercise to the registry (the ``nbNN`` modules call this at import).

    Raises:
        ValueError: the id is not ``"NN.name"`` or is already taken.
    """
    head, _, name = id.partition(".")
    if len(head) != 2 or not head.isdigit() or not name.isidentifier():
        raise ValueError(f"exercise id must look like '03.d_loss' (two-digit notebook number, a name); got {id!r}")
    if id in _REGISTRY:
        raise ValueError(f"exercise {id!r} is registered twice")
    ex = Exercise(id=id, title=title, hint=hint, reference=reference, cases=cases, observe=observe,
                  wrong=tuple(wrong), atol=atol, rtol=rtol, seed=seed)
    _REGISTRY[id] = ex
    return ex


def _load_all() -> None:
    global _LOADED
    if _LOADED:
        return
    import ganlab.exercises as pkg

    for mod in sorted(m.name for m in pkgutil.iter_modules(pkg.__path__)):
        if mod.startswith("nb"):
            importlib.import_module(f"ganlab.exercises.{mod}")
    _LOADED = True


def exercises(notebook: str | None = None) -> list[Exercise]:
    """Every registered exercise (of notebook ``"03"`` only, if given), sorted by id."""
    _load_all()
    return [ex for key, ex in sorted(_REGISTRY.items()) if notebook is None or key.startswith(f"{notebook}.")]


def get(id: str) -> Exercise:
    """The exercise ``id``.

    Raises:
        ValueError: no exercise has that id (the message lists those of its notebook).
    """
    _load_all()
    try:
        return _REGISTRY[id]
    except KeyError:
        same = [e.id for e in exercises(id[:2])] or [e.id for e in exercises()]
        raise ValueError(f"no exercise {id!r}; known: {', '.join(same)}") from None


def _failure(ex: Exercise, what: str) -> ExerciseFailed:
    return ExerciseFailed(f"✗ Exercise {ex.id} ({ex.title}): {what}\n  Hint: {ex.hint}")


def check(id: str, answer: Callable[..., Any], *, quiet: bool = False) -> ExerciseResult:
    """Grade the student's ``answer`` for exercise ``id`` against the reference.

    Args:
        id: the exercise, ``"NN.name"``.
        answer: the student's function (the name the exercise cell defines).
        quiet: do not print the success line.

    Returns:
        :class:`ExerciseResult` when every case matches.

    Raises:
        ExerciseFailed: the answer is missing (``NotImplementedError``), raises, or differs
            from the reference on a case; the message names the case, what was expected, what
            came out, and the exercise's hint.
        ValueError: ``id`` is unknown or ``answer`` is not callable.
    """
    ex = get(id)
    if not callable(answer):
        raise ValueError(f"check({id!r}, ...) needs the function you wrote; got {type(answer).__name__}")
    with torch.random.fork_rng(devices=[]):  # the notebook's random numbers are as before the check
        n = _compare_all(ex, answer)
    if not quiet:
        print(f"✓ Exercise {ex.id} ({ex.title}): matches the reference on {n} cases")
    return ExerciseResult(ex.id, n)


def _compare_all(ex: Exercise, answer: Callable[..., Any]) -> int:
    """Run the reference and the answer on every case (each on its own fresh copy of the inputs);
    returns the number of cases, raises :class:`ExerciseFailed` at the first difference."""
    cases, student_cases = list(ex.cases()), list(ex.cases())
    for case, student_case in zip(cases, student_cases):
        expected = ex.run(ex.reference, case)
        try:
            got = ex.run(answer, student_case)
        except NotImplementedError:
            raise _failure(ex, "not done yet — replace the `raise NotImplementedError` line of the "
                               "exercise cell with your code, run that cell, then this one.") from None
        except Exception as err:  # the student's code raised: say what and where, briefly
            raise _failure(ex, f"on case {case.label!r} your function raised "
                               f"{type(err).__name__}: {err}") from None
        mismatch = compare_outputs(got, expected, atol=ex.atol, rtol=ex.rtol)
        if mismatch is not None:
            raise _failure(ex, f"on case {case.label!r}, {mismatch}") from None
    return len(cases)
