"""One family's augmentation: what a recipe stores (``extra["augment"]``) and the module it builds.

A spec is a dict with any of three kinds (JSON-friendly; normalised with every setting filled in,
so the recipe, and so a checkpoint's identity, names the augmentation exactly):

* ``"classical"``: a list of op names (``["blur", "flip", "affine"]``) or
  ``{"ops": [...], **settings}`` (see :data:`~ganlab.augment.classical.CLASSICAL_DEFAULTS`):
  applied to the **real** images only, before D sees them;
* ``"diffaugment"``: a policy string (``"color,translation,cutout"``) or ``{"policy": ...,
  "translation_ratio": 0.125, "cutout_ratio": 0.5}``: applied to every image D sees (real and
  fake, D and G steps);
* ``"ada"``: ``True`` or ``{"target": 0.6, "interval": 4, "ramp_images": 500000, "p": 0.0,
  "ops": "bgc"}``: every image D sees, with the adaptive p (state in buffers).

DiffAugment and ADA are alternatives (one D-input augmentation per family).
"""

from __future__ import annotations

import copy
from typing import Any

from torch import Tensor, nn

from .ada import ADA, parse_ada_ops
from .classical import CLASSICAL_DEFAULTS, Classical
from .diffaugment import DiffAugment, parse_policy

__all__ = ["AUGMENT_KINDS", "ADA_DEFAULTS", "DIFFAUGMENT_DEFAULTS", "normalize_spec", "Augmentation"]

AUGMENT_KINDS = ("classical", "diffaugment", "ada")
ADA_DEFAULTS: dict[str, Any] = {"target": 0.6, "interval": 4, "ramp_images": 500_000, "p": 0.0, "ops": "bgc"}
DIFFAUGMENT_DEFAULTS: dict[str, Any] = {"policy": "color,translation,cutout", "translation_ratio": 0.125,
                                        "cutout_ratio": 0.5}


def _jsonable(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _settings(given: dict[str, Any], defaults: dict[str, Any], kind: str) -> dict[str, Any]:
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f"augment {kind!r}: unknown setting(s) {unknown}; accepted: {', '.join(defaults)}")
    return {**defaults, **given}


def normalize_spec(spec: Any) -> dict[str, Any]:
    """The complete, JSON-friendly form of an augmentation spec (``{}`` / ``None``: none).

    Builds the modules once to validate every value.

    Raises:
        ValueError: not a dict, an unknown kind or setting, DiffAugment together with ADA, or a
            bad value (unknown op / policy name, probability outside [0, 1], bad blur kernel or
            sigma, ADA target outside (0, 1)...).
    """
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise ValueError(f"augment must be a dict with any of {', '.join(AUGMENT_KINDS)} "
                         f"(e.g. {{'diffaugment': 'color,translation,cutout'}}); got {spec!r}")
    unknown = [k for k in spec if k not in AUGMENT_KINDS]
    if unknown:
        raise ValueError(f"augment: unknown kind(s) {unknown}; accepted: {', '.join(AUGMENT_KINDS)}")
    out: dict[str, Any] = {}
    c = spec.get("classical")
    if c is not None:
        if isinstance(c, dict):
            c = dict(c)
            ops = c.pop("ops", [])
            out["classical"] = {"ops": list(ops) if not isinstance(ops, str) else ops,
                                **_settings(c, CLASSICAL_DEFAULTS, "classical")}
        else:
            out["classical"] = {"ops": list(c) if not isinstance(c, str) else c, **CLASSICAL_DEFAULTS}
    d = spec.get("diffaugment")
    if d is not None:
        given = {"policy": d} if isinstance(d, str) else d
        if not isinstance(given, dict):
            raise ValueError(f"augment 'diffaugment' must be a policy string or a dict; got {d!r}")
        settings = _settings(given, DIFFAUGMENT_DEFAULTS, "diffaugment")
        settings["policy"] = ",".join(parse_policy(settings["policy"]))
        out["diffaugment"] = settings
    a = spec.get("ada")
    if a is not None and a is not False:
        given = {} if a is True else a
        if not isinstance(given, dict):
            raise ValueError(f"augment 'ada' must be True or a dict of {', '.join(ADA_DEFAULTS)}; got {a!r}")
        settings = _settings(given, ADA_DEFAULTS, "ada")
        if not isinstance(settings["ops"], str):
            settings["ops"] = parse_ada_ops(settings["ops"])
        out["ada"] = settings
    if "diffaugment" in out and "ada" in out:
        raise ValueError("augment: give 'diffaugment' or 'ada' (both augment every D input), not both")
    out = _jsonable(out)
    Augmentation(out)  # validates every value
    return out


class Augmentation(nn.Module):
    """The modules of a normalised spec: ``classical`` (reals), ``diffaugment`` / ``ada`` (D inputs).

    Attributes are ``None`` for kinds the spec does not name. ADA's buffers appear in the
    ``state_dict`` under ``ada.`` (in a family: ``augmentation.ada.p`` ...).
    """

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__()
        self.spec = copy.deepcopy(spec)
        self.classical: Classical | None = None
        self.diffaugment: DiffAugment | None = None
        self.ada: ADA | None = None
        if "classical" in spec:
            settings = dict(spec["classical"])
            ops = settings.pop("ops")
            if isinstance(ops, str):
                raise ValueError(f"classical augmentation: give a list of names, e.g. ['blur', 'flip']; got {ops!r}")
            self.classical = Classical(ops, **settings)
        if "diffaugment" in spec:
            self.diffaugment = DiffAugment(**spec["diffaugment"])
        if "ada" in spec:
            self.ada = ADA(**spec["ada"])

    def real(self, x: Tensor) -> Tensor:
        """Classical augmentation of real images ``(N, C, H, W)`` (identity without it)."""
        return self.classical(x) if self.classical is not None else x

    def d_input(self, x: Tensor) -> Tensor:
        """DiffAugment / ADA of an image batch D is about to see (identity without them)."""
        if self.diffaugment is not None:
            x = self.diffaugment(x)
        if self.ada is not None:
            x = self.ada(x)
        return x

    def observe(self, real_logits: Tensor, n_images: int) -> None:
        """D's logits on the reals of a D step (ADA's overfitting heuristic; no-op otherwise)."""
        if self.ada is not None:
            self.ada.observe(real_logits, n_images)

    def after_d_step(self) -> None:
        """ADA's controller after every D optimiser step (no-op otherwise)."""
        if self.ada is not None:
            self.ada.step()

    def logs(self) -> dict[str, Tensor]:
        """Scalars to log each D step: ``ada_p`` when ADA is on (its last r_t is the buffer ``ada.rt``)."""
        if self.ada is None:
            return {}
        return {"ada_p": self.ada.p.detach().clone()}
