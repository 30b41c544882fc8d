"""ganlab.viz helpers shared by the model notebooks: snapshot picking and the class histogram."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from ganlab.data import load  # noqa: E402
from ganlab.data.transforms import to_uint8  # noqa: E402
from ganlab.metrics import get_extractor  # noqa: E402
from ganlab.viz import class_counts, pick_snapshots, plot_class_histogram, show_snapshots  # noqa: E402


def _samples(n: int) -> list[tuple[int, torch.Tensor]]:
    return [(100 * i, torch.full((4, 1, 8, 8), i, dtype=torch.uint8)) for i in range(n)]


def test_pick_snapshots_keeps_first_and_last_evenly_spread() -> None:
    assert [s for s, _ in pick_snapshots(_samples(10), 4)] == [0, 300, 600, 900]
    assert [s for s, _ in pick_snapshots(_samples(3), 4)] == [0, 100, 200]
    assert [s for s, _ in pick_snapshots(_samples(7), 2)] == [0, 600]
    with pytest.raises(ValueError, match="at least 2"):
        pick_snapshots(_samples(5), 1)


def test_show_snapshots_titles_the_steps() -> None:
    class H:
        samples = _samples(9)

    fig = show_snapshots(H(), k=3)
    assert [ax.get_title() for ax in fig.axes] == ["step 0", "step 400", "step 800"]
    with pytest.raises(ValueError, match="no sample grids"):
        show_snapshots(type("Empty", (), {"samples": []})())


def test_class_counts_match_the_labels_of_real_digits() -> None:
    ds = load("mnist5k", split="test")
    images, labels = ds.get(torch.arange(len(ds)), device="cpu")
    ext = get_extractor("mnist_cnn", device="cpu")
    assert images.dtype == torch.float32 and images.min() >= -1 and images.max() <= 1
    counts = class_counts(ext, images)
    truth = torch.bincount(labels, minlength=10)
    assert counts.sum() == len(ds) and counts.shape == (10,)
    # the shipped classifier is 98.5 % accurate: per-class counts within a few of the truth
    assert (counts - truth).abs().max() <= 6
    as_uint8 = to_uint8(images)  # grids as History stores them
    assert (class_counts(ext, as_uint8) - counts).abs().sum() <= 4
    one_digit = images[labels == 3][:50]
    got = plot_class_histogram(ext, one_digit)
    assert got.argmax() == 3 and got[3] >= 48


def test_class_counts_rejects_a_non_classifier() -> None:
    with pytest.raises(ValueError, match="not a classifier"):
        class_counts(get_extractor("points", device="cpu"), torch.zeros(2, 1, 8, 8))
