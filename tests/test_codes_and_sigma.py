"""What notebooks 09 and 10 measure, on cases whose answer is known.

* image moments of rendered ellipses (width / height / ink in closed form);
* continuous_effects on a "generator" whose code 0 sets the slant and code 1 the width;
* code_grid / code_traversal lay out the latents they promise (a G that writes its input into
  the image, so the latents can be read back from the pictures);
* lipschitz_metrics and the evaluator's model_metrics record sigma_max[D] in a run's record;
* train_run's callbacks see every log point.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

import ganlab.course.session
from ganlab.course.experiment import make_evaluator, train_run
from ganlab.metrics import continuous_effects, image_moments, lipschitz_metrics
from ganlab.models import build
from ganlab.nets import DCGANDiscriminator, DCGANGenerator, InfoGANDiscriminator
from ganlab.viz import code_grid, code_traversal

NOISE, K, C = 6, 4, 2
NZ = NOISE + K + C


def _ellipse_batch(angles_deg: torch.Tensor, b: torch.Tensor, a: float = 9.0, size: int = 28, ss: int = 2) -> torch.Tensor:
    """Bright ellipses on black in [-1, 1] ``(N, 1, size, size)``: semi-axes a (along the major axis,
    ``angles_deg`` from vertical) and ``b``."""
    r = (torch.arange(size * ss, dtype=torch.float64) + 0.5) / ss - 0.5
    rows, cols = torch.meshgrid(r, r, indexing="ij")
    x, y = cols - (size - 1) / 2, -(rows - (size - 1) / 2)
    t = torch.deg2rad(angles_deg.double())[:, None, None]
    s = x * torch.sin(t) + y * torch.cos(t)
    u = x * torch.cos(t) - y * torch.sin(t)
    inside = ((s / a) ** 2 + (u / b.double()[:, None, None]) ** 2 <= 1).double()
    cover = inside.reshape(-1, size, ss, size, ss).mean(dim=(2, 4))
    return (cover * 2 - 1).float()[:, None]


class EllipseG(nn.Module):
    """A 'generator' of ellipses: continuous code 0 sets the slant (30 deg per unit), code 1 the
    minor semi-axis (2.5 + 1 per unit); noise and categorical code are ignored."""

    nz = NZ

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        c = z[:, NOISE + K:]
        return _ellipse_batch(30 * c[:, 0], 2.5 + c[:, 1]) + 0 * self.dummy


class WriterG(nn.Module):
    """A 'generator' that writes z / 2 into the first pixels of an otherwise black image."""

    nz = NZ

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = -torch.ones(z.shape[0], 1, 28, 28)
        x[:, 0, 0, :NZ] = z / 2
        return x + 0 * self.dummy


def _read(images: torch.Tensor) -> torch.Tensor:
    return images[:, 0, 0, :NZ] * 2


def _coded(G: nn.Module):
    D = InfoGANDiscriminator(image_size=28, channels=1, ndf=8, n_categories=K, n_continuous=C, q_hidden=8)
    return build("infogan", G, D, noise_dim=NOISE)


def test_image_moments_of_ellipses_match_closed_form() -> None:
    x = _ellipse_batch(torch.tensor([0.0, 90.0, 25.0]), torch.tensor([2.5, 2.5, 2.5]), ss=4)
    m = image_moments(x)
    # a uniform ellipse with semi-axes a, b has standard deviations a / 2 and b / 2 along its axes
    assert m["width"][0] == pytest.approx(1.25, abs=0.05) and m["height"][0] == pytest.approx(4.5, abs=0.05)
    assert m["width"][1] == pytest.approx(4.5, abs=0.05) and m["height"][1] == pytest.approx(1.25, abs=0.05)
    assert math.degrees(m["slant"][2]) == pytest.approx(25, abs=1.5)
    assert m["ink"][0] == pytest.approx(math.pi * 9 * 2.5 / 28 ** 2, rel=0.03)  # area / image area
    blank = image_moments(-torch.ones(1, 1, 28, 28))
    assert torch.isnan(blank["width"]).all() and blank["ink"][0] == 0
    with pytest.raises(ValueError, match="grey images"):
        image_moments(torch.zeros(2, 3, 28, 28))


def test_continuous_effects_find_what_each_code_controls() -> None:
    rows = continuous_effects(_coded(EllipseG()), n=300, seed=1)
    assert [r["code"] for r in rows] == [0, 1]
    slant_code, width_code = rows
    assert slant_code["slant"] > 0.95 and abs(width_code["slant"]) < 0.2
    # code 1 widens the ellipse along its minor axis: width and ink grow, slant does not move
    assert width_code["ink"] > 0.9 and abs(slant_code["ink"]) < 0.2
    with pytest.raises(ValueError, match="no continuous codes"):
        continuous_effects(build("dcgan", DCGANGenerator(nz=8, image_size=28, channels=1, ngf=8),
                                 DCGANDiscriminator(image_size=28, channels=1, ndf=8)))
    with pytest.raises(ValueError, match="n must be"):
        continuous_effects(_coded(EllipseG()), n=2)


def test_code_grid_rows_are_code_values_and_columns_share_the_other_inputs() -> None:
    model = _coded(WriterG())
    order = [2, 0, 3]
    z = _read(code_grid(model, n_cols=5, seed=4, order=order)).reshape(3, 5, NZ)
    one_hot = z[..., NOISE:NOISE + K]
    assert torch.equal(one_hot.argmax(-1), torch.tensor(order)[:, None].expand(3, 5))
    assert torch.allclose(one_hot.sum(-1), torch.ones(3, 5))
    others = torch.cat([z[..., :NOISE], z[..., NOISE + K:]], dim=-1)
    assert torch.allclose(others, others[:1].expand_as(others))  # same noise + continuous down a column
    assert not torch.allclose(others[0, 0], others[0, 1])          # different across columns
    assert code_grid(model, 2).shape == (K * 2, 1, 28, 28)
    with pytest.raises(ValueError, match="order must list"):
        code_grid(model, 2, order=[K])
    with pytest.raises(ValueError, match="codes"):
        code_grid(build("dcgan", DCGANGenerator(nz=8, image_size=28, channels=1, ngf=8),
                        DCGANDiscriminator(image_size=28, channels=1, ndf=8)))


def test_code_traversal_moves_one_code_only() -> None:
    model = _coded(WriterG())
    z = _read(code_traversal(model, code=1, n_rows=3, n_steps=5, span=1.5, seed=2)).reshape(3, 5, NZ)
    assert torch.allclose(z[..., NOISE + K + 1], torch.linspace(-1.5, 1.5, 5).expand(3, 5))
    fixed = z[..., :NOISE + K + 1]
    assert torch.allclose(fixed, fixed[:, :1].expand_as(fixed))  # all else fixed along a row
    assert torch.equal(z[:, 0, NOISE:NOISE + K].argmax(-1), torch.arange(3) % K)
    for bad in ({"code": 2}, {"code": 0, "n_steps": 1}, {"code": 0, "span": 0}):
        with pytest.raises(ValueError):
            code_traversal(model, **bad)


def test_lipschitz_metrics_of_a_spectrally_normalised_d_and_errors() -> None:
    torch.manual_seed(0)
    model = build("sngan", DCGANGenerator(image_size=28, channels=1, ngf=8),
                  DCGANDiscriminator(image_size=28, channels=1, ndf=8, norm="none"))
    model.D.train()
    with torch.no_grad():
        for _ in range(30):
            model.D(torch.zeros(2, 1, 28, 28))
    assert lipschitz_metrics(model) == {"sigma_max[D]": pytest.approx(1.0, abs=5e-3)}
    with pytest.raises(ValueError, match="no network 'Q'"):
        lipschitz_metrics(model, networks=("Q",))


def test_train_run_records_sigma_max_and_calls_callbacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GANLAB_DATA_DIR", raising=False)
    S = ganlab.course.session.start("10_sngan_hinge", profile="smoke", seed=0, device="cpu", results_dir=tmp_path)
    torch.manual_seed(0)
    model = build("sngan", DCGANGenerator(image_size=28, channels=1, ngf=8),
                  DCGANDiscriminator(image_size=28, channels=1, ndf=8, norm="none"), spectral_norm=False)
    from ganlab import data

    train = data.load("mnist5k", split="train", limit=128, seed=0)
    ev = make_evaluator(S, metrics=("fid",), model_metrics=[lipschitz_metrics])
    seen: list[int] = []
    r = train_run(S, "plain", model, train, evaluator=ev, steps=6, log_every=2, batch_size=16,
                  callbacks=[lambda trainer, step: seen.append(step)])
    assert seen == [2, 4, 6]
    assert r.metrics["sigma_max[D]"] == pytest.approx(lipschitz_metrics(model)["sigma_max[D]"])
    assert math.isfinite(r.untrained["sigma_max[D]"]) and r.untrained["sigma_max[D]"] != r.metrics["sigma_max[D]"]
    rec = json.loads(r.record.read_text())
    assert rec["metrics"]["sigma_max[D]"] == pytest.approx(r.metrics["sigma_max[D]"])
