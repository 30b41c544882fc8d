"""Interactive latent-space UIs built from core ipywidgets only.

:class:`InterpolationWidget` shows the image a generator makes for a code on the path between
two seeds' codes, and redraws it live while a slider moves ``t`` from 0 to 1. Every control is
backed by a plain method (``set_t``, ``set_seeds``, ``set_method``, ``set_direction``,
``set_alpha``, ``render``, ``export``), so the whole behaviour is testable without a browser and
scriptable from a notebook cell; the sliders only call those methods.

A generator with a mapping network (:class:`ganlab.nets.StyleGenerator`: ``mapping``,
``synthesis``, ``truncate``, ``mix``) gets three more controls: the **space** of the path (Z, or
W = mapping(Z): ``set_space``), the **truncation** ψ (``set_psi``) and a **style-mixing**
crossover layer with the seed the fine styles come from (``set_mixing``).

Where it runs:

* JupyterLab / Notebook 7 and Voilà: ipywidgets 8 (the course's pinned version).
* Google Colab ships ipywidgets 7.x. Only widgets that exist with the same API in 7 and 8 are
  used (FloatSlider, IntText, ToggleButtons, Dropdown, Button, Text, Label, Image, HBox, VBox),
  and :func:`enable_colab_widgets` -- called by the widget itself -- runs
  ``google.colab.output.enable_custom_widget_manager()``, which Colab needs to render some
  widgets. Run the cell again if a widget shows only as text.
* Without a frontend (papermill, scripts, tests) the widget is an ordinary object: call its
  methods; ``render()`` returns the PNG bytes the image would show.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ganlab.latent import (
    METHODS,
    code_for_seed,
    decode,
    interpolate,
    move_along,
    principal_directions,
    random_direction,
)
from ganlab.models.generation import generate_batched
from ganlab.viz.export import save_video, to_uint8_hwc, upscale

__all__ = ["InterpolationWidget", "enable_colab_widgets", "png_bytes"]


def enable_colab_widgets() -> bool:
    """On Google Colab, enable the custom widget manager; elsewhere do nothing.

    Returns:
        True when running in Colab and the call succeeded.
    """
    from ganlab.course.session import in_colab

    if not in_colab():
        return False
    try:
        from google.colab import output  # type: ignore[import-not-found]

        output.enable_custom_widget_manager()
    except Exception:  # pragma: no cover - only on Colab
        return False
    return True  # pragma: no cover


def png_bytes(image: torch.Tensor | np.ndarray, scale: int = 1) -> bytes:
    """Encode one image as PNG.

    Args:
        image: float ``(C, H, W)`` in ``[-1, 1]`` or uint8 ``(H, W, C)``.
        scale: integer nearest-neighbour upscaling factor.

    Returns:
        PNG file bytes (grayscale for one channel, RGB/RGBA otherwise).
    """
    from PIL import Image

    arr = upscale(to_uint8_hwc(image), scale)
    if arr.ndim != 3:
        raise ValueError(f"png_bytes takes one image, got shape {arr.shape}")
    pil = Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    return buf.getvalue()


def _check_seed(name: str, seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {seed!r}")
    return int(seed)


class InterpolationWidget:
    """Slide between two seeds' latent codes and watch the generated image change.

    Controls (``.ui`` is the VBox to display; the widget also displays itself as the last
    expression of a cell):

    * ``t`` slider in ``[0, 1]``: position on the path from seed 0's code to seed 1's code;
    * two seed pickers (IntText): which codes the endpoints are;
    * lerp / slerp toggle: straight segment or great-circle arc;
    * direction dropdown + ``alpha`` slider: displacement ``alpha · d`` added to the code,
      ``d`` a unit principal direction of the generator's output (``principal 1`` ...) or a
      random one (see :func:`ganlab.latent.principal_directions`);
    * export: frame count, GIF/MP4 choice, a path box and a button; the status line shows where
      the file went;
    * with a mapping network: Z / W toggle (in W the endpoints are mapped first and the path runs
      between their w's; a direction moves the endpoint codes before mapping), a ψ slider in
      ``[0, 1]`` (truncation towards the tracked mean w), and a crossover slider in ``[0, L]``
      with a "mix seed": style layers from the crossover on take the (truncated) w of the mix
      seed's code; ``L`` = no mixing.

    Args:
        generator: image generator (``nz``, ``out_shape``, output in ``[-1, 1]``). It is switched
            to eval mode (batch norm must use its running statistics for single images).
        device: where to run it (the generator is moved there); default: where it is.
        seed0, seed1: endpoint seeds; the code of a seed comes from
            :func:`ganlab.latent.code_for_seed`, so it is the same on every machine.
        method: ``"lerp"`` or ``"slerp"``.
        n_frames: frames in an exported video (>= 2).
        directions: name -> ``(nz,)`` direction; ``None`` computes ``n_principal`` principal
            directions (from ``principal_codes`` samples) and adds one random direction.
        n_principal, principal_codes: see ``directions``.
        display_size: the shown image is nearest-upscaled by an integer factor to about this many
            pixels on its larger side.
        export_path: initial content of the path box (``.gif`` or ``.mp4``).
        fps: frames per second of exported videos.
        alpha_max: the alpha slider spans ``[-alpha_max, alpha_max]``.
        space, psi, mix_seed, crossover: initial W-space settings (generators with a mapping
            network only): ``"z"`` | ``"w"``, ψ in [0, 1], the mix seed, the crossover layer
            (``None`` = L, no mixing).
    """

    def __init__(
        self,
        generator: nn.Module,
        *,
        device: torch.device | str | None = None,
        seed0: int = 0,
        seed1: int = 1,
        method: str = "slerp",
        n_frames: int = 10,
        directions: Mapping[str, torch.Tensor] | None = None,
        n_principal: int = 3,
        principal_codes: int = 512,
        display_size: int = 256,
        export_path: str | os.PathLike[str] = "interpolation.gif",
        fps: float = 4,
        alpha_max: float = 3.0,
        space: str = "z",
        psi: float = 1.0,
        mix_seed: int = 2,
        crossover: int | None = None,
    ) -> None:
        import ipywidgets as W

        nz = getattr(generator, "nz", None)
        if not isinstance(nz, int) or nz < 1:
            raise ValueError(
                f"generator {type(generator).__name__} must have an integer attribute `nz`, got {nz!r}"
            )
        if method not in METHODS:
            raise ValueError(f"unknown interpolation method {method!r}; accepted: {', '.join(METHODS)}")
        if isinstance(n_frames, bool) or not isinstance(n_frames, int) or n_frames < 2:
            raise ValueError(f"n_frames must be an integer >= 2, got {n_frames!r}")
        enable_colab_widgets()
        self.G = generator.eval()
        if device is not None:
            self.G.to(device)
        self.device = next(iter(self.G.parameters()), torch.empty(0)).device
        self.nz = nz
        self._seed0 = _check_seed("seed0", seed0)
        self._seed1 = _check_seed("seed1", seed1)
        self._z0 = code_for_seed(self._seed0, nz)
        self._z1 = code_for_seed(self._seed1, nz)
        self._t = 0.5
        self._method = method
        self._alpha = 0.0
        self.fps = fps
        self.directions = self._make_directions(directions, n_principal, principal_codes)
        self._direction = next(iter(self.directions))
        self.styled = all(hasattr(self.G, a) for a in ("mapping", "synthesis", "truncate", "mix", "n_styles"))
        self.n_styles = int(self.G.n_styles) if self.styled else 0
        self._space, self._psi = "z", 1.0
        self._mix_seed = _check_seed("mix_seed", mix_seed)
        self._crossover = self.n_styles
        if not self.styled and (space != "z" or psi != 1.0 or crossover is not None):
            raise ValueError(f"space / psi / crossover need a generator with a mapping network "
                             f"(a StyleGenerator); {type(self.G).__name__} has none")
        if self.styled:
            self._space = self._check_space(space)
            self._psi = self._check_psi(psi)
            self._crossover = self._check_crossover(self.n_styles if crossover is None else crossover)
        h, w = self._probe_size()
        self.scale = max(1, int(display_size) // max(h, w))
        self._syncing = False

        style = {"description_width": "initial"}
        toggle_style = {"description_width": "initial", "button_width": "64px"}
        self.t_slider = W.FloatSlider(
            value=self._t, min=0.0, max=1.0, step=0.01, description="t",
            continuous_update=True, readout_format=".2f", layout=W.Layout(width="360px"),
        )
        self.t_slider.add_class("ganlab-t-slider")
        self.seed0_box = W.IntText(value=self._seed0, description="seed z0", style=style,
                                   layout=W.Layout(width="150px"))
        self.seed1_box = W.IntText(value=self._seed1, description="seed z1", style=style,
                                   layout=W.Layout(width="150px"))
        self.method_toggle = W.ToggleButtons(options=list(METHODS), value=self._method,
                                             style=toggle_style)
        self.direction_dropdown = W.Dropdown(options=list(self.directions), value=self._direction,
                                             description="direction", style=style,
                                             layout=W.Layout(width="220px"))
        self.alpha_slider = W.FloatSlider(
            value=0.0, min=-float(alpha_max), max=float(alpha_max), step=0.1, description="alpha",
            continuous_update=True, readout_format=".1f", layout=W.Layout(width="360px"),
        )
        self.alpha_slider.add_class("ganlab-alpha-slider")
        px_h, px_w = h * self.scale, w * self.scale
        # Explicit pixel size: frontends would otherwise stretch the image to the output width.
        self.image = W.Image(value=b"", format="png", width=px_w, height=px_h,
                             layout=W.Layout(width=f"{px_w}px", height=f"{px_h}px"))
        self.image.add_class("ganlab-image")
        self.info = W.Label(value="")
        self.frames_box = W.BoundedIntText(value=n_frames, min=2, max=600, description="frames",
                                           style=style, layout=W.Layout(width="130px"))
        self.format_toggle = W.ToggleButtons(options=["gif", "mp4"],
                                             value="mp4" if str(export_path).endswith(".mp4") else "gif",
                                             style=toggle_style)
        self.path_box = W.Text(value=str(export_path), description="save to", style=style,
                               layout=W.Layout(width="360px"))
        self.export_button = W.Button(description="Export video", icon="download",
                                      button_style="primary")
        self.status = W.Label(value="")
        style_rows = []
        if self.styled:
            self.space_toggle = W.ToggleButtons(options=["z", "w"], value=self._space, style=toggle_style)
            self.psi_slider = W.FloatSlider(
                value=self._psi, min=0.0, max=1.0, step=0.05, description="truncation psi", style=style,
                continuous_update=True, readout_format=".2f", layout=W.Layout(width="360px"),
            )
            self.psi_slider.add_class("ganlab-psi-slider")
            self.mix_slider = W.IntSlider(
                value=self._crossover, min=0, max=self.n_styles, step=1, description="mix from layer",
                style=style, continuous_update=True, layout=W.Layout(width="360px"),
            )
            self.mix_slider.add_class("ganlab-mix-slider")
            self.mix_seed_box = W.IntText(value=self._mix_seed, description="mix seed", style=style,
                                          layout=W.Layout(width="150px"))
            self.space_toggle.observe(lambda c: self._from_ui(self.set_space, c["new"]), names="value")
            self.psi_slider.observe(lambda c: self._from_ui(self.set_psi, c["new"]), names="value")
            self.mix_slider.observe(lambda c: self._from_ui(self.set_mixing, c["new"], None), names="value")
            self.mix_seed_box.observe(lambda c: self._from_ui(self.set_mixing, None, c["new"]), names="value")
            style_rows = [W.HBox([W.Label("space"), self.space_toggle, self.psi_slider]),
                          W.HBox([self.mix_slider, self.mix_seed_box])]

        self.t_slider.observe(lambda c: self._from_ui(self.set_t, c["new"]), names="value")
        self.seed0_box.observe(lambda c: self._from_ui(self.set_seeds, c["new"], None), names="value")
        self.seed1_box.observe(lambda c: self._from_ui(self.set_seeds, None, c["new"]), names="value")
        self.method_toggle.observe(lambda c: self._from_ui(self.set_method, c["new"]), names="value")
        self.direction_dropdown.observe(
            lambda c: self._from_ui(self.set_direction, c["new"]), names="value"
        )
        self.alpha_slider.observe(lambda c: self._from_ui(self.set_alpha, c["new"]), names="value")
        self.format_toggle.observe(lambda c: self._on_format(c["new"]), names="value")
        self.export_button.on_click(lambda _b: self._on_export())

        self.ui = W.VBox([
            W.HBox([self.seed0_box, self.seed1_box, W.Label("path"), self.method_toggle]),
            self.t_slider,
            W.HBox([self.direction_dropdown, self.alpha_slider]),
            *style_rows,
            self.image,
            self.info,
            W.HBox([self.frames_box, W.Label("format"), self.format_toggle]),
            W.HBox([self.path_box, self.export_button]),
            self.status,
        ])
        self.ui.add_class("ganlab-interpolation")
        self.redraw()

    # ----------------------------------------------------------------- state
    def _make_directions(
        self, directions: Mapping[str, torch.Tensor] | None, n_principal: int, n_codes: int
    ) -> dict[str, torch.Tensor]:
        if directions is not None:
            out = {}
            for name, d in directions.items():
                d = torch.as_tensor(d).reshape(-1).float().cpu()
                if d.shape[0] != self.nz:
                    raise ValueError(
                        f"direction {name!r} has {d.shape[0]} entries, the generator's nz is {self.nz}"
                    )
                out[str(name)] = d
        else:
            out = {}
            if n_principal > 0:
                dirs = principal_directions(self.G, n_codes=n_codes, k=n_principal).cpu()
                out = {f"principal {i + 1}": d for i, d in enumerate(dirs)}
            out["random"] = random_direction(self.nz, torch.Generator().manual_seed(0))
        if not out:
            raise ValueError("directions must name at least one (nz,) direction")
        return out

    def _check_space(self, space: str) -> str:
        if space not in ("z", "w"):
            raise ValueError(f"space must be 'z' or 'w', got {space!r}")
        return space

    @staticmethod
    def _check_psi(psi: float) -> float:
        psi = float(psi)
        if not 0.0 <= psi <= 1.0:
            raise ValueError(f"truncation psi must lie in [0, 1], got {psi}")
        return psi

    def _check_crossover(self, crossover: int) -> int:
        if isinstance(crossover, bool) or not isinstance(crossover, (int, np.integer)) or not 0 <= crossover <= self.n_styles:
            raise ValueError(f"crossover must be an integer in [0, {self.n_styles}], got {crossover!r}")
        return int(crossover)

    def _require_styles(self, what: str) -> None:
        if not self.styled:
            raise ValueError(f"{what} needs a generator with a mapping network (a StyleGenerator); "
                             f"{type(self.G).__name__} has none")

    @torch.no_grad()
    def _probe_size(self) -> tuple[int, int]:
        shape = getattr(self.G, "out_shape", None)
        if shape is not None and len(shape) == 3:
            return int(shape[1]), int(shape[2])
        x = decode(self.G, self._z0)
        return int(x.shape[-2]), int(x.shape[-1])

    @property
    def t(self) -> float:
        """Position on the path, in ``[0, 1]``."""
        return self._t

    @property
    def method(self) -> str:
        """``"lerp"`` or ``"slerp"``."""
        return self._method

    @property
    def seeds(self) -> tuple[int, int]:
        """The endpoint seeds ``(seed0, seed1)``."""
        return self._seed0, self._seed1

    @property
    def direction(self) -> str:
        """Name of the selected direction."""
        return self._direction

    @property
    def alpha(self) -> float:
        """Displacement along the selected direction (latent units)."""
        return self._alpha

    @property
    def space(self) -> str:
        """``"z"`` or ``"w"``: where the path runs (``"z"`` for generators without mapping)."""
        return self._space

    @property
    def psi(self) -> float:
        """Truncation ψ (1 = none)."""
        return self._psi

    @property
    def mixing(self) -> tuple[int, int]:
        """``(crossover, mix_seed)``: layers from ``crossover`` on use the mix seed's w."""
        return self._crossover, self._mix_seed

    @property
    def endpoints(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The endpoint codes ``(z0, z1)``, each ``(nz,)`` on the CPU."""
        return self._z0, self._z1

    # ------------------------------------------------------------- callbacks
    def set_t(self, t: float) -> bytes:
        """Move to position ``t`` in ``[0, 1]``; returns the new PNG."""
        t = float(t)
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"t must lie in [0, 1], got {t}")
        self._t = t
        self._sync(self.t_slider, t)
        return self.redraw()

    def set_seeds(self, seed0: int | None = None, seed1: int | None = None) -> bytes:
        """Change one or both endpoint seeds (``None`` keeps it); returns the new PNG."""
        if seed0 is not None:
            self._seed0 = _check_seed("seed0", seed0)
            self._z0 = code_for_seed(self._seed0, self.nz)
            self._sync(self.seed0_box, self._seed0)
        if seed1 is not None:
            self._seed1 = _check_seed("seed1", seed1)
            self._z1 = code_for_seed(self._seed1, self.nz)
            self._sync(self.seed1_box, self._seed1)
        return self.redraw()

    def set_method(self, method: str) -> bytes:
        """Choose ``"lerp"`` or ``"slerp"``; returns the new PNG."""
        if method not in METHODS:
            raise ValueError(f"unknown interpolation method {method!r}; accepted: {', '.join(METHODS)}")
        self._method = method
        self._sync(self.method_toggle, method)
        return self.redraw()

    def set_direction(self, name: str) -> bytes:
        """Select the direction the alpha slider moves along; returns the new PNG."""
        if name not in self.directions:
            raise ValueError(f"unknown direction {name!r}; accepted: {', '.join(self.directions)}")
        self._direction = name
        self._sync(self.direction_dropdown, name)
        return self.redraw()

    def set_alpha(self, alpha: float) -> bytes:
        """Set the displacement along the selected direction; returns the new PNG."""
        alpha = float(alpha)
        if not np.isfinite(alpha):
            raise ValueError(f"alpha must be a finite number, got {alpha}")
        self._alpha = alpha
        self._sync(self.alpha_slider, alpha)
        return self.redraw()

    def set_space(self, space: str) -> bytes:
        """Interpolate in ``"z"`` or in ``"w"`` (mapping network only); returns the new PNG."""
        self._require_styles("space")
        self._space = self._check_space(space)
        self._sync(self.space_toggle, space)
        return self.redraw()

    def set_psi(self, psi: float) -> bytes:
        """Truncation ψ in [0, 1] (mapping network only); returns the new PNG."""
        self._require_styles("truncation")
        self._psi = self._check_psi(psi)
        self._sync(self.psi_slider, self._psi)
        return self.redraw()

    def set_mixing(self, crossover: int | None = None, mix_seed: int | None = None) -> bytes:
        """Style mixing: layers ``>= crossover`` take the mix seed's w (``crossover = L``: none);
        ``None`` keeps a setting. Mapping network only; returns the new PNG."""
        self._require_styles("style mixing")
        if crossover is not None:
            self._crossover = self._check_crossover(crossover)
            self._sync(self.mix_slider, self._crossover)
        if mix_seed is not None:
            self._mix_seed = _check_seed("mix_seed", mix_seed)
            self._sync(self.mix_seed_box, self._mix_seed)
        return self.redraw()

    # --------------------------------------------------------------- outputs
    def _path(self, t: torch.Tensor | float) -> torch.Tensor:
        """Latent codes at positions ``t`` in the current space: ``(nz,)`` / ``(T, nz)`` for Z,
        ``(w_dim,)`` / ``(T, w_dim)`` for W (directions move the endpoint codes before mapping)."""
        d = self.directions[self._direction]
        if self._space == "z":
            return move_along(interpolate(self._z0, self._z1, t, self._method), d, self._alpha)
        with torch.no_grad():
            ends = torch.stack([move_along(self._z0, d, self._alpha), move_along(self._z1, d, self._alpha)])
            w0, w1 = self.G.mapping(ends.to(self.device)).double().cpu()
        return interpolate(w0, w1, t, self._method)

    def code(self, t: float | None = None) -> torch.Tensor:
        """The latent code (CPU) shown at position ``t`` (default: the current one): ``(nz,)`` in
        Z space, the untruncated ``(w_dim,)`` in W space."""
        return self._path(self._t if t is None else float(t))

    def codes(self, n_frames: int | None = None) -> torch.Tensor:
        """Codes ``(T, nz)`` (W space: ``(T, w_dim)``) at ``T`` evenly spaced positions from 0 to 1."""
        n = int(self.frames_box.value if n_frames is None else n_frames)
        if n < 2:
            raise ValueError(f"n_frames must be >= 2, got {n}")
        return self._path(torch.linspace(0, 1, n, dtype=torch.float64))

    @torch.no_grad()
    def styles(self, codes: torch.Tensor) -> torch.Tensor:
        """Per-layer styles ``(T, L, w_dim)`` for codes of the current space (truncation and
        mixing applied); mapping network only."""
        self._require_styles("styles")
        codes = codes.reshape(-1, codes.shape[-1]).float().to(self.device)
        w = self.G.mapping(codes) if self._space == "z" else codes
        w = self.G.truncate(w, self._psi)
        if self._crossover >= self.n_styles:
            return self.G.broadcast(w)
        wm = self.G.truncate(self.G.mapping(code_for_seed(self._mix_seed, self.nz).to(self.device)[None]), self._psi)
        return self.G.mix(w, wm.expand_as(w), self._crossover)

    def _images(self, codes: torch.Tensor) -> torch.Tensor:
        if not self.styled:
            return decode(self.G, codes, device=self.device)
        return generate_batched(self.G, self.styles(codes), batch_size=64, out_device="cpu",
                                call=lambda net, x: net.synthesis(x), eval_mode=False)

    def image_tensor(self, t: float | None = None) -> torch.Tensor:
        """The generated image ``(C, H, W)`` in ``[-1, 1]`` (CPU) at ``t`` (default: current)."""
        return self._images(self.code(t))[0]

    def frames(self, n_frames: int | None = None) -> torch.Tensor:
        """Images ``(T, C, H, W)`` in ``[-1, 1]`` along the whole path (current settings)."""
        return self._images(self.codes(n_frames))

    def render(self, t: float | None = None) -> bytes:
        """PNG bytes of the (upscaled) image at ``t`` (default: the current position)."""
        return png_bytes(self.image_tensor(t), self.scale)

    def redraw(self) -> bytes:
        """Recompute the shown image and the info line; returns the PNG bytes."""
        png = self.render()
        self.image.value = png
        z = self.code()
        info = f"{self._method}  t={self._t:.2f}  "
        if self._space == "z":
            info += (f"|z_t|={float(z.norm()):.2f}  (|z0|={float(self._z0.norm()):.2f}, "
                     f"|z1|={float(self._z1.norm()):.2f}, sqrt(nz)={self.nz ** 0.5:.2f})  ")
        else:
            info += f"in W: |w_t - w_avg|={float((z.float() - self.G.w_avg.cpu()).norm()):.2f}  "
        info += f"{self._direction} alpha={self._alpha:+.1f}"
        if self.styled:
            mix = "off" if self._crossover >= self.n_styles else f"layers {self._crossover}-{self.n_styles - 1} from seed {self._mix_seed}"
            info += f"  psi={self._psi:.2f}  mixing {mix}"
        self.info.value = info
        return png

    def export(
        self,
        path: str | os.PathLike[str] | None = None,
        fps: float | None = None,
        n_frames: int | None = None,
    ) -> Path:
        """Write the interpolation (current seeds, method, direction, alpha) as GIF or MP4.

        Args:
            path: target ending in ``.gif`` or ``.mp4`` (default: the path box).
            fps: frames per second (default: the widget's ``fps``).
            n_frames: frames from t=0 to t=1 (default: the frames box).

        Returns:
            The absolute path written; the status line shows it.

        Raises:
            ValueError: another suffix, bad fps or frame count.
        """
        target = Path(self.path_box.value if path is None else path).expanduser().resolve()
        frames = self.frames(n_frames)
        out = save_video(frames, target, self.fps if fps is None else fps)
        size_kb = out.stat().st_size / 1024
        self.status.value = f"saved {frames.shape[0]} frames to {out} ({size_kb:.1f} kB)"
        return out

    # --------------------------------------------------------------- plumbing
    def _sync(self, widget, value) -> None:
        """Show ``value`` in ``widget`` without its observer calling back into us."""
        if widget.value != value:
            self._syncing = True
            try:
                widget.value = value
            finally:
                self._syncing = False

    def _from_ui(self, setter, *args) -> None:
        if self._syncing:
            return
        try:
            setter(*args)
        except ValueError as exc:
            self.status.value = f"error: {exc}"

    def _on_format(self, fmt: str) -> None:
        p = Path(self.path_box.value or "interpolation")
        self.path_box.value = str(p.with_suffix("." + fmt))

    def _on_export(self) -> None:
        self.status.value = "exporting ..."
        try:
            self.export()
        except (ValueError, OSError) as exc:
            self.status.value = f"export failed: {exc}"

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.ui)
