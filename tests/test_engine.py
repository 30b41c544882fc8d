"""The family contract: several networks and optimiser groups, family state, phases, batches.

``TwinGAN`` below is a whole family in one file's worth of code: two generators, two
discriminators, generator-first phases and a pool of past fakes as state a checkpoint must keep.
The trainer knows nothing about it, yet a run interrupted and resumed ends bit for bit where an
uninterrupted run ends.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import Tensor, nn

from ganlab.data import Batch
from ganlab.losses import d_loss_ls, g_loss_ls
from ganlab.models import Family, Phase, StepContext, build
from ganlab.train import NonFiniteLossError, TrainConfig, Trainer
from tests.helpers import dcgan_pair, tiny_images


class TwinGAN(Family):
    """Two generators (the second is fed the first's output), two LS discriminators, a fake pool."""

    family = "twin"
    generators = ("G_A", "G_B")
    groups = {"g": ("G_A", "G_B"), "d": ("D_A", "D_B")}
    defaults: dict[str, Any] = {"extra": {"pool_size": 4}}

    def __init__(self, G_A: nn.Module, G_B: nn.Module, D_A: nn.Module, D_B: nn.Module, **kw: Any) -> None:
        super().__init__({"G_A": G_A, "G_B": G_B, "D_A": D_A, "D_B": D_B}, **kw)
        self.pool: list[Tensor] = []

    def phases(self) -> list[Phase]:
        return [Phase("g", fresh_batch=True, freeze=("D_A", "D_B")), Phase("d", fresh_batch=False)]

    def phase_loss(self, group: str, batch: Batch, ctx: StepContext) -> tuple[Tensor, dict[str, Tensor]]:
        if group == "g":
            z = self.latent(ctx.batch_size, ctx.device, ctx.generator)
            a = self.G_A(z)
            b = self.G_B(z + 0.1 * a.flatten(1)[:, : z.shape[1]])
            ctx.cache["fakes"] = (a.detach(), b.detach())
            return g_loss_ls(self.D_A(a)) + g_loss_ls(self.D_B(b)), {}
        a, b = ctx.cache.pop("fakes")
        # the pool: half of D_B's fakes are old ones, chosen with the run's RNG
        old = self._from_pool(b, ctx.generator)
        loss = d_loss_ls(self.D_A(batch.real), self.D_A(a)) + d_loss_ls(self.D_B(batch.real), self.D_B(old))
        return loss, {"pool": torch.tensor(float(len(self.pool)))}

    def _from_pool(self, fakes: Tensor, gen: torch.Generator) -> Tensor:
        out = fakes.clone()
        for i in range(fakes.shape[0]):
            if len(self.pool) < self.recipe.extra["pool_size"]:
                self.pool.append(fakes[i].cpu().clone())
            elif torch.rand((), generator=gen).item() < 0.5:
                j = int(torch.randint(len(self.pool), (), generator=gen))
                out[i], self.pool[j] = self.pool[j].to(fakes.device), fakes[i].cpu().clone()
        return out

    def get_extra_state(self) -> dict[str, Any]:
        return {"pool": [t.clone() for t in self.pool]}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.pool = [t.clone() for t in state["pool"]]


def _twin() -> TwinGAN:
    torch.manual_seed(0)
    G_A, D_A = dcgan_pair()
    G_B, D_B = dcgan_pair()
    return TwinGAN(G_A, G_B, D_A, D_B)


def _run_twin(folder, steps: int, resume: bool) -> Trainer:
    cfg = TrainConfig(steps=steps, batch_size=8, seed=5, device="cpu", precision="fp32", log_every=1,
                      checkpoint_every=3, checkpoint_dir=str(folder), resume=resume, ema_decay=0.8,
                      progress=False)
    trainer = Trainer(_twin(), tiny_images(32), cfg)
    trainer.fit()
    return trainer


def test_two_generator_family_resumes_bit_for_bit(tmp_path) -> None:
    full = _run_twin(tmp_path / "a", 7, False)
    _run_twin(tmp_path / "b", 3, False)  # interrupted after the step-3 checkpoint
    resumed = _run_twin(tmp_path / "b", 7, True)
    assert resumed.history.resumed_from == 3
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    assert {k.split(".")[0] for k in a} >= {"G_A", "G_B", "D_A", "D_B", "G_A_ema", "G_B_ema"}
    for k in a:
        if k == "_extra_state":
            continue
        assert torch.equal(a[k], b[k]), f"{k} differs after resume"
    pool_a, pool_b = a["_extra_state"]["pool"], b["_extra_state"]["pool"]
    assert len(pool_a) == len(pool_b) == 4
    assert all(torch.equal(x, y) for x, y in zip(pool_a, pool_b))
    for group in ("g", "d"):  # optimiser moments too
        sa, sb = full.optimizers[group].state_dict(), resumed.optimizers[group].state_dict()
        for slot in sa["state"]:
            for key, val in sa["state"][slot].items():
                assert torch.equal(val, sb["state"][slot][key]), f"optimiser {group} {key} differs"
    assert full.history.losses == resumed.history.losses


def test_two_generator_family_trains_every_network_and_its_ema() -> None:
    model = _twin()
    before = {k: v.clone() for k, v in model.state_dict().items() if k != "_extra_state"}
    trainer = Trainer(model, tiny_images(32), TrainConfig(steps=2, batch_size=8, device="cpu",
                                                          ema_decay=0.5, progress=False, log_every=1))
    hist = trainer.fit()
    after = model.state_dict()
    for prefix in ("G_A.", "G_B.", "D_A.", "D_B.", "G_A_ema.", "G_B_ema."):
        keys = [k for k in after if k.startswith(prefix) and k.endswith("weight") and after[k].is_floating_point()]
        changed = [k for k in keys if k in before and not torch.equal(before[k], after[k])] if not prefix.endswith(
            "ema.") else keys
        assert changed, f"no weight of {prefix} changed"
    assert set(trainer.optimizers) == {"g", "d"}
    assert hist.images_seen == 2 * 8  # one batch per iteration: the d phase reuses g's
    assert hist.losses["pool"][-1] == 4.0
    desc = model.describe()
    assert set(desc["networks"]) == {"G_A", "G_B", "D_A", "D_B"}
    assert desc["params_g"] == desc["networks"]["G_A"]["params"] + desc["networks"]["G_B"]["params"]


def test_nan_in_a_named_phase_is_reported() -> None:
    model = _twin()
    real = model.phase_loss

    def poisoned(group, batch, ctx):
        loss, logs = real(group, batch, ctx)
        return (loss * float("nan"), logs) if group == "d" else (loss, logs)

    model.phase_loss = poisoned
    cfg = TrainConfig(steps=4, batch_size=8, device="cpu", progress=False, log_every=2)
    with pytest.raises(NonFiniteLossError, match=r"discriminator loss became non-finite at step 1 "):
        Trainer(model, tiny_images(32), cfg).fit()


def test_bad_family_declarations_are_refused() -> None:
    G, D = dcgan_pair()

    class NoGroupNet(Family):
        family = "broken"
        groups = {"d": ("D",), "g": ("G", "Q")}

    with pytest.raises(ValueError, match=r"group 'g' names missing networks \['Q'\]"):
        NoGroupNet({"G": G, "D": D})

    class BadPhase(TwinGAN):
        def phases(self):
            return [Phase("q")]

    torch.manual_seed(0)
    with pytest.raises(ValueError, match="phase .* needs a group in"):
        Trainer(BadPhase(*dcgan_pair(), *dcgan_pair()), tiny_images(32), TrainConfig(steps=1, batch_size=8))
    with pytest.raises(ValueError, match="network 'G' must be an nn.Module"):
        NoGroupNet({"G": 3, "D": D})


def test_sampler_draws_new_samples_on_every_call() -> None:
    G, D = dcgan_pair()
    model = build("dcgan", G, D)
    fn = model.sampler(seed=1)
    a, b = fn(4), fn(4)
    assert not torch.allclose(a, b)
    again = model.sampler(seed=1)
    assert torch.equal(again(4), a) and torch.equal(again(4), b)
    with pytest.raises(ValueError, match="unconditional; it takes no labels"):
        fn(4, labels=torch.zeros(4, dtype=torch.long))


def test_dataset_is_a_torch_dataset_with_labels_and_transform() -> None:
    ds = tiny_images(10)
    ds.labels = torch.arange(10) % 3
    loader = torch.utils.data.DataLoader(ds, batch_size=4)
    x, y = next(iter(loader))
    assert x.shape == (4, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert y.tolist() == [0, 1, 2, 0]
    assert torch.equal(ds[3][0], ds.get(3)[0])
    ds.transform = lambda t: -t
    assert torch.equal(ds[3][0], -ds.get(3)[0])
    from torchvision.transforms import v2

    ds.transform = v2.RandomHorizontalFlip(p=1.0)  # a torchvision transform on the (C, H, W) item
    assert torch.equal(ds[3][0], ds.get(3)[0].flip(-1))
    with pytest.raises(IndexError, match="out of range"):
        ds[10]
    b = ds.batch(torch.tensor([1, 2]))
    assert isinstance(b, Batch) and b.labels.tolist() == [1, 2] and len(b) == 2
    ds.labels = None
    assert ds[0][1] == -1


def test_evaluator_gets_n_distinct_samples_from_a_sampler(tmp_path) -> None:
    """Regression: a sampler re-seeded per call gave the Evaluator its first chunk again and again
    (500 distinct samples at N=1000), which halved recall in the wave-1 records."""
    from ganlab.data import load
    from ganlab.metrics import Evaluator
    from tests.helpers import mlp_pair

    ev = Evaluator(load("ring8", split="test"), extractor="points", n=1000, batch_size=250,
                   metrics=("coverage",), cache_dir=tmp_path)
    x = ev.sample(build("gan", *mlp_pair()).sampler(seed=3))
    assert x.shape == (1000, 2)
    assert torch.unique(x, dim=0).shape[0] == 1000
