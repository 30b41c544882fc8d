"""cond_acc and intra_fid for class-conditional generators, checked on sources whose answer is known.

A "generator" that returns real train digits of the requested class must score the classifier's
own accuracy and a small intra-FID; one that ignores the label must score chance; intra-FID must
equal the mean of per-class FIDs computed by hand with :func:`ganlab.metrics.frechet_distance`.
"""

from __future__ import annotations

import pytest
import torch

from ganlab.data import load
from ganlab.metrics import Evaluator, extract, frechet_distance

N = 1000


class RealDigits:
    """A conditional source: real train digits of the requested class (or of any class)."""

    n_classes = 10

    def __init__(self, obey: bool) -> None:
        train = load("mnist5k", split="train")
        self.images, self.labels, self.obey = train.get(slice(None))[0], train.labels, obey
        self.gen = torch.Generator().manual_seed(0)

    def __call__(self, k: int, labels: torch.Tensor | None = None) -> torch.Tensor:
        if not self.obey or labels is None:
            return self.images[torch.randint(len(self.images), (k,), generator=self.gen)]
        out = []
        for y in labels.tolist():
            pool = (self.labels == y).nonzero().flatten()
            out.append(self.images[pool[torch.randint(len(pool), (1,), generator=self.gen)]])
        return torch.cat(out)


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory) -> Evaluator:
    return Evaluator("mnist5k", extractor="mnist_cnn", n=N, cache_dir=tmp_path_factory.mktemp("cache"),
                     metrics=("fid", "coverage"))


def test_a_source_that_obeys_the_label_scores_the_classifiers_accuracy(evaluator: Evaluator) -> None:
    src = RealDigits(obey=True)
    assert evaluator.conditional(src)
    res = evaluator.evaluate(src)
    assert res["cond_acc[mnist_cnn,N=1000]"] > 0.96  # mnist_cnn is 98.5 % accurate on held-out digits
    assert res["intra_fid[mnist_cnn,N=1000]"] < 30
    assert res["classes_covered[mnist_cnn,N=1000]"] == 10


def test_a_source_that_ignores_the_label_scores_chance(evaluator: Evaluator) -> None:
    res = evaluator.evaluate(RealDigits(obey=False))
    assert 0.05 < res["cond_acc[mnist_cnn,N=1000]"] < 0.16
    obey = evaluator.evaluate(RealDigits(obey=True))
    assert res["intra_fid[mnist_cnn,N=1000]"] > 5 * obey["intra_fid[mnist_cnn,N=1000]"]
    # the overall FID cannot tell the two apart: both are real digits
    assert res["fid[mnist_cnn,N=1000]"] == pytest.approx(obey["fid[mnist_cnn,N=1000]"], abs=5)


def test_intra_fid_is_the_mean_of_per_class_fids_by_hand(evaluator: Evaluator) -> None:
    src = RealDigits(obey=True)
    requested = torch.arange(N) % 10
    x = evaluator.sample(src, labels=requested)
    res = evaluator.evaluate_images(x, requested=requested)
    fake = extract(evaluator.extractor, x)["features"]
    real_labels = evaluator.dataset.labels[evaluator._real_idx]
    by_hand = [frechet_distance(evaluator.real_features[real_labels == c], fake[requested == c]) for c in range(10)]
    assert res["intra_fid[mnist_cnn,N=1000]"] == pytest.approx(sum(by_hand) / 10, rel=1e-6)
    pred = extract(evaluator.extractor, x)["labels"]
    assert res["cond_acc[mnist_cnn,N=1000]"] == pytest.approx(float((pred == requested).float().mean()))


def test_unconditional_sources_get_no_conditional_keys(evaluator: Evaluator) -> None:
    res = evaluator.evaluate(lambda k: RealDigits(obey=False)(k))
    assert not any(k.startswith(("cond_acc", "intra_fid")) for k in res)
    with pytest.raises(ValueError, match="one requested class per sample"):
        evaluator.conditional_metrics({"features": torch.zeros(N, 128)}, torch.zeros(3, dtype=torch.long))


class CodedDigits:
    """An InfoGAN-like source: code value c draws real digits of class perm[c] (or any digit)."""

    def __init__(self, n_categories: int, perm: list[int] | None, model: object = None) -> None:
        self.n_categories, self.perm, self.model = n_categories, perm, model
        self.digits = RealDigits(obey=True)

    def __call__(self, k: int, categories: torch.Tensor | None = None) -> torch.Tensor:
        if self.perm is None or categories is None:
            return self.digits.images[
                torch.randint(len(self.digits.images), (k,), generator=self.digits.gen)]
        return self.digits(k, labels=torch.tensor([self.perm[c] for c in categories.tolist()]))


def test_a_code_that_names_digits_under_another_numbering_scores_the_classifiers_accuracy(evaluator: Evaluator) -> None:
    src = CodedDigits(10, perm=[3, 7, 0, 9, 1, 4, 8, 2, 6, 5])
    assert evaluator.coded(src) and not evaluator.conditional(src)
    res = evaluator.evaluate(src)
    assert res["code_acc[mnist_cnn,N=1000]"] > 0.96 and res["code_nmi[mnist_cnn,N=1000]"] > 0.9
    assert not any(k.startswith("cond_acc") for k in res)


def test_a_code_that_means_nothing_scores_near_chance_and_20_codes_use_majority(evaluator: Evaluator) -> None:
    res = evaluator.evaluate(CodedDigits(10, perm=None))
    assert 0.08 < res["code_acc[mnist_cnn,N=1000]"] < 0.25  # the matching picks the best of 10! maps
    assert res["code_nmi[mnist_cnn,N=1000]"] < 0.05
    over = evaluator.evaluate(CodedDigits(20, perm=[c % 10 for c in range(20)]))  # two codes per digit
    assert over["code_acc[mnist_cnn,N=1000]"] > 0.96


def test_model_metrics_are_added_for_sources_with_a_model(tmp_path) -> None:
    ev = Evaluator("mnist5k", extractor="mnist_cnn", n=100, cache_dir=tmp_path, metrics=("fid",),
                   model_metrics=[lambda m: {"sigma_max[D]": m["s"]}])
    src = CodedDigits(10, perm=None, model={"s": 1.25})
    assert ev.evaluate(src)["sigma_max[D]"] == 1.25
    assert "sigma_max[D]" not in ev.evaluate(lambda k: src(k))  # no .model: nothing to measure
    with pytest.raises(ValueError, match="model_metrics must be functions"):
        Evaluator("mnist5k", extractor="mnist_cnn", n=100, cache_dir=tmp_path, model_metrics=[3])
