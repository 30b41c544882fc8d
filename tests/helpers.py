"""Small shared builders for the tests (tiny datasets and models that train in milliseconds)."""

from __future__ import annotations

import torch

from ganlab.data.dataset import Dataset, DatasetInfo
from ganlab.nets import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator


def tiny_images(n: int = 64, channels: int = 1, size: int = 28, seed: int = 0) -> Dataset:
    """Random uint8 images as a Dataset (no files, no network)."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8, generator=g)
    info = DatasetInfo(name="tiny", kind="image", channels=channels, size=size, n_classes=None,
                       classes=None, source="random", licence="none")
    return Dataset(info=info, images=images)


def tiny_points(n: int = 512, seed: int = 0) -> Dataset:
    """2-D Gaussian points as a Dataset."""
    g = torch.Generator().manual_seed(seed)
    info = DatasetInfo(name="tinypts", kind="points", channels=None, size=None, n_classes=None,
                       classes=None, source="random", licence="none")
    return Dataset(info=info, points=torch.randn(n, 2, generator=g))


def mlp_pair(nz: int = 8, hidden: int = 32, dropout: float = 0.0):
    """MLP G/D for 2-D points."""
    torch.manual_seed(0)
    G = MLPGenerator(nz=nz, out_shape=(2,), hidden=(hidden, hidden), out_activation=None)
    D = MLPDiscriminator(in_shape=(2,), hidden=(hidden, hidden), dropout=dropout)
    return G, D


def dcgan_pair(width: int = 8, channels: int = 1, size: int = 28, norm: str = "batch"):
    """A narrow DCGAN pair for image tests."""
    torch.manual_seed(0)
    G = DCGANGenerator(nz=16, image_size=size, channels=channels, ngf=width)
    D = DCGANDiscriminator(image_size=size, channels=channels, ndf=width, norm=norm)
    return G, D


def assert_resume_is_exact(make_model, make_data, folder, total: int = 5, cut: int = 2, **cfg) -> None:
    """Train ``total`` steps in one go, and ``cut`` steps then resume to ``total``: the two runs'
    ``state_dict``s must be equal bit for bit (fp32 on the CPU, EMA on, a checkpoint every 2 steps).

    ``make_model()`` and ``make_data()`` build a fresh family and data set for each run.
    """
    import torch

    from ganlab.train import TrainConfig, Trainer

    def run(sub: str, steps: int, resume: bool) -> Trainer:
        config = TrainConfig(steps=steps, batch_size=8, seed=2, device="cpu", precision="fp32", log_every=1,
                             checkpoint_every=2, checkpoint_dir=str(folder / sub), resume=resume,
                             ema_decay=0.9, progress=False, **cfg)
        trainer = Trainer(make_model(), make_data(), config)
        trainer.fit()
        return trainer

    full = run("a", total, False)
    run("b", cut, False)
    resumed = run("b", total, True)
    assert resumed.history.resumed_from == cut
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys() and any("_ema." in k for k in a)
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after resume"
