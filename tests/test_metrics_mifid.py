"""MiFID: validated against torchmetrics' MemorizationInformedFrechetInceptionDistance on the
course's mnist_cnn features; the Evaluator's ``mifid[mnist_cnn,N=n]`` key."""

from __future__ import annotations

import pytest
import torch

from ganlab.metrics import (
    Evaluator,
    get_extractor,
    memorization_distance,
    memorization_informed_fid,
    min_cosine_distance,
)


def _blobs(n: int, seed: int) -> torch.Tensor:
    """Synthetic 28 x 28 images in [-1, 1]: a few random bright strokes on black."""
    g = torch.Generator().manual_seed(seed)
    x = torch.full((n, 1, 28, 28), -1.0)
    for i in range(n):
        for _ in range(3):
            r, c = torch.randint(4, 22, (2,), generator=g).tolist()
            h, w = torch.randint(2, 8, (2,), generator=g).tolist()
            x[i, 0, r:r + h, c:c + w] = 1.0
    return x


@pytest.mark.parametrize("memorising", [True, False])
def test_mifid_matches_torchmetrics_with_the_mnist_cnn_features(memorising: bool) -> None:
    from torchmetrics.image.mifid import MemorizationInformedFrechetInceptionDistance as TMMiFID

    from ganlab.data import load

    ext = get_extractor("mnist_cnn")
    train = load("mnist5k", split="train").get(torch.arange(160))[0]
    g = torch.Generator().manual_seed(1)
    fake = (train + 0.02 * torch.randn(train.shape, generator=g)).clamp(-1, 1) if memorising else _blobs(160, seed=0)
    with torch.no_grad():
        f_train, f_fake = ext(train).double(), ext(fake).double()
    ours = memorization_informed_fid(f_train, f_fake, train=f_train)
    d = memorization_distance(f_fake, f_train)
    assert (d < 0.1) == memorising and (d == 1.0) != memorising
    # torchmetrics takes, for each "real" feature, the nearest "fake" one: generated as "real"
    # and training as "fake" gives Kaggle's direction (generated -> nearest training); FID is symmetric
    tm = TMMiFID(feature=ext, cosine_distance_eps=0.1)
    tm.update(fake, real=True)
    tm.update(train, real=False)
    assert ours == pytest.approx(float(tm.compute()), rel=1e-4)
    fid = memorization_informed_fid(f_train, f_fake, train=f_train, eps=1e-12)  # threshold never met: FID
    assert ours == pytest.approx(fid / d if memorising else fid, rel=1e-9)


def test_mifid_edge_cases_and_bad_eps() -> None:
    a = torch.rand(50, 8, generator=torch.Generator().manual_seed(0)) + 0.1
    assert memorization_distance(a, a) == pytest.approx(0.0, abs=1e-7)  # copies: distance 0
    assert memorization_informed_fid(a, a) == 0.0  # FID ~ 0 gives 0, not 0 / 0
    b = torch.rand(50, 8, generator=torch.Generator().manual_seed(1)) + 0.1
    assert memorization_informed_fid(b, a, train=-a) > 1e8  # |cos| = 1 with the negated copies
    with pytest.raises(ValueError, match=r"threshold eps must be in \(0, 1\] \(Kaggle 0.1\); got 0"):
        memorization_distance(a, b, eps=0)
    with pytest.raises(ValueError, match="dimension"):
        memorization_distance(a, b[:, :4])


def test_evaluator_reports_mifid_against_training_features(tmp_path) -> None:
    from ganlab.data import load

    ev = Evaluator("mnist5k", extractor="mnist_cnn", n=200, metrics=("fid", "mifid"), cache_dir=tmp_path)
    train = load("mnist5k", split="train")
    copies = train.get(torch.arange(200))[0]
    res = ev.evaluate_images(copies)
    key, raw_key = "mifid[mnist_cnn,N=200]", "memo_distance[mnist_cnn,N=200]"
    assert set(res) == {"fid[mnist_cnn,N=200]", key, raw_key}
    memo = ev.memorization_features()
    assert memo.shape == (200, ev.extractor.dim) and any(p.name.endswith(".pt") and "mifid-train" in p.name
                                                          for p in tmp_path.iterdir())
    fake = ev.extractor(copies).double()
    expect = memorization_informed_fid(ev.real_features, fake, train=memo)
    assert res[key] == pytest.approx(expect, rel=1e-9)
    assert res[raw_key] == pytest.approx(min_cosine_distance(fake, memo), rel=1e-9)
    noise = torch.rand(200, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    res_noise = ev.evaluate_images(noise)
    d = memorization_distance(ev.extractor(noise), memo)
    if d == 1.0:  # no memorisation: MiFID = FID
        assert res_noise[key] == pytest.approx(res_noise["fid[mnist_cnn,N=200]"])
    with pytest.raises(ValueError, match="eps"):
        Evaluator("mnist5k", extractor="mnist_cnn", n=200, metrics=("mifid",), cache_dir=tmp_path, mifid_eps=2.0)


def test_mifid_with_a_training_set_smaller_than_n_uses_all_of_it(tmp_path) -> None:
    """The 10 % data study: 400 training digits, N = 1000 samples; memorising them shows."""
    from ganlab.data import load

    small = load("mnist5k", split="train", limit=50, seed=3)
    ev = Evaluator("mnist5k", extractor="mnist_cnn", n=200, metrics=("fid", "mifid"), cache_dir=tmp_path,
                   mifid_train=small)
    memo = ev.memorization_features()
    assert memo.shape == (50, ev.extractor.dim)
    assert torch.allclose(memo, ev.extractor(small.images_float()).float(), atol=1e-5)
    copies = small.images_float().repeat(4, 1, 1, 1)  # 200 samples, each a training image
    res = ev.evaluate_images(copies)
    assert res["memo_distance[mnist_cnn,N=200]"] < 1e-6
    others = load("mnist5k", split="test").images_float(200)
    assert ev.evaluate_images(others)["memo_distance[mnist_cnn,N=200]"] > 1e-3
