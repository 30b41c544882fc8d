"""ganlab.widgets, ganlab.viz.export and ganlab.viz.strips, without a browser."""

from __future__ import annotations

import io

import imageio.v2 as iio2
import imageio.v3 as iio
import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

matplotlib.use("Agg")

from ganlab.latent import code_for_seed, decode  # noqa: E402
from ganlab.viz.export import save_gif, save_mp4, save_video, to_uint8_hwc  # noqa: E402
from ganlab.viz.strips import compare_strips, interpolation_strip  # noqa: E402
from ganlab.widgets import InterpolationWidget, png_bytes  # noqa: E402

NZ = 8


class TinyGenerator(nn.Module):
    """A fixed random linear + tanh generator: (N, 8) -> (N, C, 12, 12) in [-1, 1]."""

    def __init__(self, channels: int = 1, size: int = 12) -> None:
        super().__init__()
        self.nz = NZ
        self.out_shape = (channels, size, size)
        g = torch.Generator().manual_seed(0)
        self.fc = nn.Linear(NZ, channels * size * size)
        with torch.no_grad():
            self.fc.weight.copy_(torch.randn(channels * size * size, NZ, generator=g) * 0.6)
            self.fc.bias.zero_()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc(z)).view(-1, *self.out_shape)


@pytest.fixture
def widget(tmp_path) -> InterpolationWidget:
    return InterpolationWidget(
        TinyGenerator(), seed0=0, seed1=1, principal_codes=128, display_size=48,
        export_path=tmp_path / "interp.gif",
    )


def frames_in_mp4(path) -> list[np.ndarray]:
    with iio2.get_reader(path, format="ffmpeg") as reader:
        return [np.asarray(f) for f in reader]


# ------------------------------------------------------------------ export
def test_to_uint8_hwc_maps_range_and_layout():
    x = torch.tensor([-1.0, 0.0, 1.0, 3.0]).view(1, 1, 2, 2).expand(2, 3, 2, 2)
    u8 = to_uint8_hwc(x)
    assert u8.shape == (2, 2, 2, 3) and u8.dtype == np.uint8
    assert u8[0, :, :, 0].ravel().tolist() == [0, 128, 255, 255]  # out-of-range clipped
    hwc = np.zeros((3, 5, 5, 3), np.uint8)
    assert to_uint8_hwc(hwc) is hwc
    with pytest.raises(ValueError, match=r"C in \(1, 3\)"):
        to_uint8_hwc(torch.zeros(2, 5, 4, 4))
    with pytest.raises(ValueError, match="NaN"):
        to_uint8_hwc(torch.full((1, 1, 2, 2), float("nan")))


def test_save_gif_round_trip_and_atomic(tmp_path):
    frames = torch.rand(10, 1, 12, 12) * 2 - 1
    path = save_gif(frames, tmp_path / "sub" / "a.gif", fps=5)
    back = iio.imread(path, index=None)
    assert back.shape[0] == 10
    assert back.shape[1] >= 128 and back.shape[1] % 12 == 0  # upscaled by an integer factor
    assert [p.name for p in path.parent.iterdir()] == ["a.gif"]  # no temp file left
    with pytest.raises(ValueError, match=r"\.gif"):
        save_gif(frames, tmp_path / "a.png")
    with pytest.raises(ValueError, match="fps"):
        save_gif(frames, tmp_path / "b.gif", fps=0)


def test_save_mp4_round_trip(tmp_path):
    frames = (np.random.default_rng(0).random((7, 12, 12, 3)) * 255).astype(np.uint8)
    path = save_mp4(frames, tmp_path / "a.mp4", fps=7)
    back = frames_in_mp4(path)
    assert len(back) == 7
    h, w = back[0].shape[:2]
    assert h == w and h >= 256 and h % 16 == 0
    assert [p.name for p in tmp_path.iterdir()] == ["a.mp4"]
    with pytest.raises(ValueError, match=r"\.gif or \.mp4"):
        save_video(frames, tmp_path / "a.avi")


# ------------------------------------------------------------------ strips
def test_interpolation_strip_marks_endpoints():
    imgs = torch.rand(10, 3, 12, 12) * 2 - 1
    fig = interpolation_strip(imgs, title="demo")
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(labels) == 10 and labels[0].startswith("z0") and labels[-1].startswith("z1")
    assert len(ax.patches) == 2  # the two endpoint frames
    with pytest.raises(ValueError, match="labels"):
        interpolation_strip(imgs, labels=["a", "b"])
    matplotlib.pyplot.close("all")


def test_compare_strips_rows():
    imgs = torch.rand(10, 1, 12, 12) * 2 - 1
    fig = compare_strips({"lerp": imgs, "slerp": imgs.flip(0)})
    assert [ax.get_ylabel() for ax in fig.axes] == ["lerp", "slerp"]
    with pytest.raises(ValueError, match="same number"):
        compare_strips({"lerp": imgs, "slerp": imgs[:5]})
    with pytest.raises(ValueError, match="at least one"):
        compare_strips({})
    matplotlib.pyplot.close("all")


# ------------------------------------------------------------------ widget
def test_png_bytes_is_upscaled_png():
    png = png_bytes(torch.zeros(1, 12, 12), scale=4)
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.size == (48, 48)


def test_set_t_changes_image(widget):
    assert widget.image.value == widget.render()  # shown image is the current render
    before = widget.set_t(0.0)
    after = widget.set_t(0.7)
    assert before != after
    assert widget.image.value == after and widget.t_slider.value == pytest.approx(0.7)
    # the endpoints are the seeds' own images
    z0_png = png_bytes(decode(widget.G, code_for_seed(0, NZ))[0], widget.scale)
    assert before == z0_png
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        widget.set_t(1.5)


def test_slider_drives_callback(widget):
    before = widget.image.value
    widget.t_slider.value = 0.9  # what the browser does
    assert widget.t == pytest.approx(0.9)
    assert widget.image.value != before


def test_method_toggle_changes_middle_frame(widget):
    widget.set_method("lerp")
    lerp_mid = widget.set_t(0.5)
    widget.method_toggle.value = "slerp"  # the toggle calls set_method
    assert widget.method == "slerp" and widget.image.value != lerp_mid
    widget.set_method("lerp")
    assert widget.image.value == lerp_mid and widget.method_toggle.value == "lerp"
    # endpoints do not depend on the path
    widget.set_t(0.0)
    start = widget.image.value
    widget.set_method("lerp")
    assert widget.image.value == start
    with pytest.raises(ValueError, match="accepted: lerp, slerp"):
        widget.set_method("cubic")


def test_seeds_change_endpoints(widget):
    widget.set_t(0.0)
    a = widget.image.value
    widget.seed0_box.value = 5
    assert widget.seeds == (5, 1) and widget.image.value != a
    widget.set_t(1.0)
    b = widget.image.value
    widget.set_seeds(seed1=6)
    assert widget.seed1_box.value == 6 and widget.image.value != b
    widget.seed0_box.value = -3  # bad input from the UI is reported, not raised
    assert "seed0" in widget.status.value and widget.seeds == (5, 6)


def test_direction_and_alpha(widget):
    assert list(widget.directions) == ["principal 1", "principal 2", "principal 3", "random"]
    base = widget.set_alpha(0.0)
    moved = widget.set_alpha(2.0)
    assert moved != base and widget.alpha_slider.value == pytest.approx(2.0)
    widget.direction_dropdown.value = "random"
    assert widget.direction == "random" and widget.image.value != moved
    with pytest.raises(ValueError, match="unknown direction"):
        widget.set_direction("up")


def test_export_gif_and_mp4(widget, tmp_path):
    gif = widget.export(tmp_path / "w.gif", n_frames=12)
    assert iio.imread(gif, index=None).shape[0] == 12
    assert str(gif) in widget.status.value
    mp4 = widget.export(tmp_path / "w.mp4", fps=6, n_frames=9)
    assert len(frames_in_mp4(mp4)) == 9


def test_export_button_uses_path_box(widget, tmp_path):
    widget.frames_box.value = 10
    widget.format_toggle.value = "mp4"
    assert widget.path_box.value.endswith("interp.mp4")
    widget.format_toggle.value = "gif"
    widget.export_button.click()
    out = tmp_path / "interp.gif"
    assert out.is_file() and str(out) in widget.status.value
    assert iio.imread(out, index=None).shape[0] == 10
    widget.path_box.value = str(tmp_path / "bad.txt")
    widget.export_button.click()
    assert widget.status.value.startswith("export failed") and ".gif or .mp4" in widget.status.value


def test_widget_bad_arguments():
    with pytest.raises(ValueError, match="nz"):
        InterpolationWidget(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="method"):
        InterpolationWidget(TinyGenerator(), method="cubic", directions={"x": torch.ones(NZ)})
    with pytest.raises(ValueError, match="nz is 8"):
        InterpolationWidget(TinyGenerator(), directions={"x": torch.ones(3)})


def test_rgb_generator_and_ui_tree(tmp_path):
    w = InterpolationWidget(TinyGenerator(channels=3), directions={"d": torch.ones(NZ) / NZ**0.5})
    img = Image.open(io.BytesIO(w.render()))
    assert img.mode == "RGB" and img.size == (12 * w.scale, 12 * w.scale)
    assert w.ui.__class__.__name__ == "VBox" and w.image in w.ui.children


def test_colab_custom_widget_manager_is_enabled(monkeypatch):
    import sys
    import types

    from ganlab.widgets import enable_colab_widgets

    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert enable_colab_widgets() is False  # not on Colab: nothing to do
    calls = []
    output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append(1))
    colab = types.ModuleType("google.colab")
    colab.output = output
    google = types.ModuleType("google")
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setenv("COLAB_RELEASE_TAG", "test")
    InterpolationWidget(TinyGenerator(), directions={"d": torch.ones(NZ) / NZ**0.5})
    assert calls == [1]


# ------------------------------------------------------------------ W space (StyleGAN-lite)
@pytest.fixture
def style_widget(tmp_path) -> InterpolationWidget:
    from ganlab.nets import StyleGenerator

    torch.manual_seed(0)
    G = StyleGenerator(nz=NZ, image_size=32, channels=3, width=2, mapping_depth=2)
    with torch.no_grad():  # a non-trivial mean w for truncation
        G.w_avg.copy_(G.map(torch.randn(512, NZ)).mean(0))
    return InterpolationWidget(G, principal_codes=64, n_principal=1, display_size=64,
                               export_path=tmp_path / "w.gif")


def test_style_widget_has_space_truncation_and_mixing_controls(style_widget, widget):
    w = style_widget
    assert w.styled and w.n_styles == 8 and w.mixing == (8, 2) and w.space == "z" and w.psi == 1.0
    assert {w.space_toggle, w.psi_slider, w.mix_slider, w.mix_seed_box} <= {
        c for row in w.ui.children for c in getattr(row, "children", (row,))}
    assert not widget.styled and not hasattr(widget, "psi_slider")
    with pytest.raises(ValueError, match="mapping network"):
        widget.set_space("w")
    with pytest.raises(ValueError, match="mapping network"):
        InterpolationWidget(TinyGenerator(), psi=0.5, directions={"d": torch.ones(NZ) / NZ**0.5})


def test_w_space_path_is_the_lerp_of_the_mapped_endpoints(style_widget):
    w = style_widget
    G = w.G
    w.set_method("lerp")
    w.set_space("w")
    w0, w1 = G.mapping(torch.stack(w.endpoints).float())
    assert torch.allclose(w.code(0.0).float(), w0, atol=1e-5) and torch.allclose(w.code(1.0).float(), w1, atol=1e-5)
    assert torch.allclose(w.code(0.25).float(), 0.75 * w0 + 0.25 * w1, atol=1e-5)
    mid_w = w.image_tensor(0.5)
    w.set_space("z")
    mid_z = w.image_tensor(0.5)
    assert not torch.allclose(mid_w, mid_z), "the midpoint of a Z path is not that of the W path"
    assert torch.allclose(w.image_tensor(0.0), G.eval()(w.endpoints[0][None].float())[0], atol=1e-5)
    assert w.space_toggle.value == "z" and "in W" not in w.info.value


def test_truncation_slider_pulls_towards_the_mean_image(style_widget):
    w = style_widget
    G = w.G
    mean_image = G.synthesis(G.w_avg[None])[0]
    w.psi_slider.value = 0.0  # as a browser would: the observer calls set_psi
    assert w.psi == 0.0 and "psi=0.00" in w.info.value
    assert torch.allclose(w.image_tensor(), mean_image, atol=1e-5)
    dist = {}
    for psi in (1.0, 0.5):
        w.set_psi(psi)
        dist[psi] = (w.image_tensor() - mean_image).abs().mean().item()
    assert dist[0.5] < dist[1.0]
    w.psi_slider.value = 1.0
    with pytest.raises(ValueError, match="psi must lie in"):
        w.set_psi(1.2)


def test_mixing_slider_swaps_fine_layers_for_the_mix_seeds(style_widget):
    w = style_widget
    G = w.G
    plain = w.image_tensor()
    w.mix_slider.value = 0  # every layer from the mix seed: the mix seed's own image
    mix_image = G.eval()(code_for_seed(2, NZ)[None])[0]
    assert torch.allclose(w.image_tensor(), mix_image, atol=1e-5)
    w.set_mixing(4)
    styles = w.styles(w.code())
    assert torch.allclose(styles[0, :4], G.mapping(w.code().float()[None]).expand(4, -1), atol=1e-6)
    assert not torch.allclose(w.image_tensor(), plain) and "layers 4-7 from seed 2" in w.info.value
    w.mix_seed_box.value = 5
    assert w.mixing == (4, 5)
    w.set_mixing(8)
    assert torch.allclose(w.image_tensor(), plain, atol=1e-6)
    w.mix_slider.value = 8
    with pytest.raises(ValueError, match=r"crossover must be an integer in \[0, 8\]"):
        w.set_mixing(9)


def test_style_widget_exports_its_w_path(style_widget, tmp_path):
    w = style_widget
    w.set_space("w")
    w.set_psi(0.7)
    out = w.export(tmp_path / "w.gif", n_frames=6)
    frames = iio.imread(out, index=None)
    assert frames.shape[0] == 6
    assert torch.allclose(w.frames(6)[0], w.image_tensor(0.0), atol=1e-5)
