"""The conditional family: labels reach both networks, sampling by class, bad input, exact resume."""

from __future__ import annotations

import pytest
import torch

from ganlab.models import ConditionalGAN, build
from ganlab.models.conditional import balanced_labels
from ganlab.nets import CBNGenerator, ConcatDiscriminator, ConcatGenerator, ProjectionDiscriminator
from ganlab.train import TrainConfig, Trainer
from tests.helpers import assert_resume_is_exact, tiny_images


def _cgan(scheme: str = "concat", **recipe) -> ConditionalGAN:
    torch.manual_seed(0)
    if scheme == "concat":
        G = ConcatGenerator(n_classes=10, image_size=28, channels=1, ngf=8)
        D = ConcatDiscriminator(n_classes=10, image_size=28, channels=1, ndf=8)
    else:
        G = CBNGenerator(n_classes=10, image_size=28, channels=1, ngf=8, embed_z=4)
        D = ProjectionDiscriminator(n_classes=10, image_size=28, channels=1, ndf=8, pooling="flatten")
    return build("cgan", G, D, **recipe)


def _labelled(n: int = 48):
    ds = tiny_images(n)
    ds.labels = torch.arange(n) % 10
    return ds


def test_sampling_by_class_and_balanced_default() -> None:
    model = _cgan()
    assert model.n_classes == 10
    x = model.sample(20, seed=1, labels=torch.arange(20) % 10)
    assert x.shape == (20, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    same_z = model.sample_inputs(4, "cpu", torch.Generator().manual_seed(0), labels=3)
    assert same_z["y"].tolist() == [3, 3, 3, 3]
    assert balanced_labels(12, 5).tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]
    assert model.sample_inputs(12, "cpu")["y"].tolist() == balanced_labels(12, 10).tolist()
    # the label matters: same z, different class -> different images
    z = torch.randn(2, model.nz)
    a = model.sample(inputs={"z": z, "y": torch.tensor([1, 1])})
    b = model.sample(inputs={"z": z, "y": torch.tensor([7, 7])})
    assert not torch.allclose(a, b)


def test_bad_labels_and_nets_are_refused() -> None:
    model = _cgan()
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\); got \[0, 10\]"):
        model.sample(11, labels=torch.arange(11))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        model.sample(3, labels=torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="takes labels=, not codes"):
        model.sample_inputs(3, codes=1)
    with pytest.raises(ValueError, match="loss 'wasserstein' is not known; accepted: bce, hinge, ls"):
        _cgan(loss="wasserstein")
    G = ConcatGenerator(n_classes=10, image_size=28, channels=1, ngf=8)
    with pytest.raises(ValueError, match="G generates 10 classes but D judges 3"):
        build("cgan", G, ConcatDiscriminator(n_classes=3, image_size=28, channels=1, ndf=8))
    with pytest.raises(ValueError, match="needs an int attribute n_classes"):
        from ganlab.nets import DCGANDiscriminator
        build("cgan", G, DCGANDiscriminator(image_size=28, channels=1, ndf=8))
    unlabelled = tiny_images(32)
    with pytest.raises(ValueError, match="needs a labelled data set"):
        Trainer(_cgan(), unlabelled, TrainConfig(steps=1, batch_size=8, device="cpu", progress=False)).fit()


def test_d_sees_the_real_batch_with_its_labels() -> None:
    model = _cgan()
    seen = []
    real_forward = model.D.forward

    def spy(x, y):
        seen.append(y.clone())
        return real_forward(x, y)

    model.D.forward = spy
    ds = _labelled()
    Trainer(model, ds, TrainConfig(steps=1, batch_size=8, device="cpu", progress=False, log_every=1)).fit()
    order = ds.epoch_order(0, 0)[:8]
    assert torch.equal(seen[0], ds.labels[order])  # D's real pass: the batch's own labels
    assert torch.equal(seen[1], ds.labels[order])  # fakes drawn for the same labels (fake_labels="real")


@pytest.mark.parametrize("scheme", ["concat", "projection"])
def test_conditional_run_resumes_bit_for_bit(tmp_path, scheme) -> None:
    assert_resume_is_exact(lambda: _cgan(scheme, fake_labels="uniform"), _labelled, tmp_path)
