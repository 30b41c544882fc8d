"""ganlab.course.experiment: the notebooks' run helpers against a real smoke-profile session."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import ganlab.course.session
from ganlab.course.experiment import train_on_datasets
from ganlab.nets import DCGANDiscriminator, DCGANGenerator


def test_train_on_datasets_records_untrained_baseline_and_trains(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GANLAB_DATA_DIR", raising=False)
    S = ganlab.course.session.start("05_lsgan", profile="smoke", seed=3, device="cpu", results_dir=tmp_path)
    channels_seen: list[int] = []

    def nets(channels: int):
        channels_seen.append(channels)
        return (DCGANGenerator(nz=16, image_size=28, channels=channels, ngf=8),
                DCGANDiscriminator(image_size=28, channels=channels, ndf=8))

    out = train_on_datasets(S, "lsgan", ["mnist5k"], nets, image_size=28)
    assert list(out) == ["mnist5k"] and channels_seen == [1]
    run, untrained = out["mnist5k"]
    assert run.name == "lsgan_mnist5k" and run.model.family == "lsgan"
    assert run.history.steps[-1] == S.settings.steps
    fid = next(k for k in run.metrics if k.startswith("fid["))
    assert fid == f"fid[mnist_cnn,N={S.settings.eval_n}]"
    assert math.isfinite(run.metrics[fid]) and math.isfinite(untrained[fid])
    rec = json.loads(run.record.read_text())
    assert rec["run"] == "lsgan_mnist5k" and rec["seed"] == 3 and rec["dataset"] == "mnist5k"
    assert rec["extra"]["untrained"][fid] == pytest.approx(untrained[fid])
    assert train_on_datasets(S, "lsgan", [], nets, image_size=28) == {}
