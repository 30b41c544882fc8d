"""Device and precision choice, made once and overridable; the one description of the machine.

``pick_device("auto")`` prefers ``cuda`` > ``mps`` > ``cpu``. :func:`autocast_dtype` says which
mixed precision is safe on a device: fp16 (with a GradScaler) on CUDA, bf16 on CPUs whose
instruction set supports it natively, none elsewhere.

The machine and versions are described here and nowhere else: :func:`describe_device` (the
device), :func:`environment` (a run record's ``environment``: versions, device, git commit),
:func:`environment_report` (the notebooks' setup cell) and :func:`machine_description` (the
README's results block).
"""

from __future__ import annotations

import contextlib
import functools
import os
import platform
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

__all__ = ["cuda_speed_flags", "pick_device", "autocast_dtype", "cpu_supports_bf16", "cpu_model", "describe_device",
           "versions", "environment", "environment_report", "machine_description"]

_VALID = ("auto", "cpu", "cuda", "mps")


def pick_device(device: str | torch.device | None = "auto") -> torch.device:
    """Resolve ``"auto"`` (or ``None``) to the best available device; validate explicit names.

    Raises:
        ValueError: unknown device name, or a device that is not available here.
    """
    if isinstance(device, torch.device):
        return device
    name = (device or "auto").strip().lower()
    base = name.split(":")[0]
    if base not in _VALID:
        raise ValueError(f"device {device!r} is not known; accepted: {', '.join(_VALID)} (cuda:N too)")
    if base == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if base == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but this runtime has no CUDA GPU; use 'auto' or 'cpu'")
    if base == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"device {device!r} was asked for but MPS is not available; use 'auto' or 'cpu'")
    return torch.device(name)


@functools.lru_cache(maxsize=1)
def cpu_supports_bf16() -> bool:
    """True when the CPU has native bf16 arithmetic (AVX512-BF16 or AMX), where bf16 autocast pays off."""
    if os.environ.get("GANLAB_FORCE_BF16") == "1":
        return True
    try:
        with open("/proc/cpuinfo") as fh:
            flags = fh.read()
    except OSError:
        return False
    return any(f in flags for f in ("avx512_bf16", "amx_bf16"))


def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """Mixed-precision dtype for ``device``: ``None`` means full fp32.

    Args:
        precision: ``"auto"`` (fp16 on CUDA, bf16 on CPUs with native support, else fp32),
            ``"fp32"``, ``"bf16"`` or ``"fp16"``.
    """
    valid = ("auto", "fp32", "bf16", "fp16")
    if precision not in valid:
        raise ValueError(f"precision {precision!r} is not known; accepted: {', '.join(valid)}")
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16
    if device.type == "cuda":
        return torch.float16
    if device.type == "cpu" and cpu_supports_bf16():
        return torch.bfloat16
    return None


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else the platform's), e.g.
    ``'AMD EPYC 9B14'``; ``'unknown CPU'`` when neither says."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def describe_device(device: torch.device) -> str:
    """Human-readable device name, e.g. ``'cuda (Tesla T4)'`` or
    ``'cpu (AMD EPYC 9B14, 2 cores, native bf16, 2 threads)'``."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        bf16 = ", native bf16" if cpu_supports_bf16() else ""
        return f"cpu ({cpu_model()}, {os.cpu_count()} cores{bf16}, {torch.get_num_threads()} threads)"
    return device.type


def versions() -> dict[str, str]:
    """``{"python": ..., "torch": ..., "ganlab": ...}`` version strings."""
    import ganlab

    return {"python": platform.python_version(), "torch": torch.__version__, "ganlab": ganlab.__version__}


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5, check=True)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def environment(device: Any = None) -> dict[str, Any]:
    """Versions, device and git commit for a run record (no paths, no user names).

    Keys: ``python``, ``torch``, ``ganlab``, ``git_commit``, ``machine``, ``cpu_threads``, and
    with a ``device`` also ``device`` (its name) and, on CUDA, ``gpu``.
    """
    env: dict[str, Any] = {**versions(), "git_commit": _git_commit(),
                           "machine": platform.machine(), "cpu_threads": torch.get_num_threads()}
    if device is not None:
        env["device"] = str(device)
        if str(device).startswith("cuda") and torch.cuda.is_available():
            env["gpu"] = torch.cuda.get_device_name(0)
    return env


def environment_report() -> str:
    """One short paragraph on versions and device, printed by every notebook's setup cell."""
    v = versions()
    device = pick_device("auto")
    lines = [
        f"ganlab {v['ganlab']} | python {v['python']} | torch {v['torch']}",
        f"device: {describe_device(device)}",
    ]
    if device.type == "cpu":
        lines.append(
            "note: no GPU in this runtime. The default 'quick' profile runs on a CPU; "
            "the 'full' profile needs a GPU (on Colab: Runtime > Change runtime type > T4 GPU)."
        )
    return "\n".join(lines)


def machine_description(device: Any = None) -> str:
    """``"Linux-6.1-x86_64 (x86_64), python 3.11.9, torch 2.4.1, device cpu (2 threads)"``."""
    v = versions()
    dev = pick_device(device if device is not None else "auto")
    return (f"{platform.platform(terse=True)} ({platform.machine()}), python "
            f"{v['python']}, torch {v['torch']}, device {describe_device(dev)}")


def _tf32_state() -> Any:
    m = torch.backends.cuda.matmul
    if hasattr(m, "fp32_precision"):  # torch >= 2.9
        return m.fp32_precision
    return m.allow_tf32  # pragma: no cover (older torch)


def _set_tf32_state(state: Any) -> None:
    m = torch.backends.cuda.matmul
    if hasattr(m, "fp32_precision"):
        m.fp32_precision = state
    else:  # pragma: no cover
        m.allow_tf32 = state


def _tf32_on() -> Any:
    return "tf32" if hasattr(torch.backends.cuda.matmul, "fp32_precision") else True


@contextlib.contextmanager
def cuda_speed_flags(device: torch.device | str, enabled: bool = True) -> Iterator[None]:
    """Within the block, on CUDA only: TF32 for fp32 matrix products
    (``torch.backends.cuda.matmul.fp32_precision = "tf32"``; cuDNN convolutions already use TF32
    by PyTorch's default) and cuDNN autotuning (``torch.backends.cudnn.benchmark``: the GAN nets'
    shapes are fixed, so the first steps pick the fastest kernels); the previous flags are
    restored on exit.

    The trainer enters it around each training step only (not ``deterministic`` runs): evaluation
    and sampling keep full fp32 products, so metrics do not depend on it. TF32 keeps fp32's range
    with a 10-bit mantissa, the precision mixed-precision training already uses for its products.
    On CPU (or ``enabled=False``) it changes nothing. Not measured here (no GPU).
    """
    if not enabled or torch.device(device).type != "cuda":
        yield
        return
    before = (_tf32_state(), torch.backends.cudnn.benchmark)
    _set_tf32_state(_tf32_on())
    torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        _set_tf32_state(before[0])
        torch.backends.cudnn.benchmark = before[1]
