"""Super-resolution families (Ledig et al., CVPR 2017): ``srresnet`` (MSE only) and ``srgan``.

Both generate from a low-resolution image, not from noise: ``sample_inputs(n, source=LR)`` ->
``{"source": LR}`` and ``generate(G, source=LR) = G(LR)``; they train on a *paired* set whose
batches carry ``source`` (LR, ``(B, C, h, w)``) beside ``real`` (HR, ``(B, C, h*s, w*s)``), and
:meth:`SRResNetFamily.check_data` refuses a set whose sides do not fit the network.

* ``srresnet``: one generator, one optimiser group (``{"g": ("G",)}``), one phase; the loss is the
  pixel MSE between G(LR) and HR. The paper trains it with Adam (lr 1e-4, beta1 0.9) and uses it
  to initialise SRGAN's generator.
* ``srgan``: G and the discriminator D; each iteration one D update (BCE on real HR crops and
  detached G(LR)) and one G update on

      l_SR = content(G(LR), HR) + adv_weight * (-log D(G(LR)))      (adv_weight 1e-3 in the paper)

  with the fakes of D's update reused, with their graph, by G's (one G forward per iteration).

The content loss (extra ``content``):

* ``"vgg54"`` (the paper's SRGAN-VGG54; default) / ``"vgg22"``: MSE between VGG19 feature maps
  phi_{5,4} / phi_{2,2} (ImageNet weights from torchvision's cache, features rescaled by 1/12.75
  as the paper does). Offline without the weights file, building the family raises
  :class:`~ganlab.nets.srresnet.FeatureWeightsUnavailable` naming the file.
* ``"mse"``: pixel MSE, the paper's own SRGAN-MSE variant;
* ``"random"``: MSE between the feature maps of a fixed, randomly initialised VGG-like net
  (:func:`~ganlab.nets.srresnet.random_vgg_features`: conv1_1 .. relu2_2 at ``feature_width``,
  seed ``feature_seed``; ``feature_scale`` multiplies its features).

The feature network is frozen and is *not* one of the family's networks: it has no optimiser and
is kept out of the ``state_dict`` (a checkpoint would otherwise carry 20 M VGG19 weights that
never change); it is rebuilt from the recipe, which the records hold, and moved to the device of
its input on first use.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlab.losses import d_loss_bce, g_loss_nonsaturating
from ganlab.models.base import Family, Phase, StepContext
from ganlab.nets.srresnet import FeatureNetwork, random_vgg_features, vgg19_features

__all__ = ["SRResNetFamily", "SRGAN", "CONTENT_LOSSES", "content_loss", "build_content_network"]

#: Content losses of the ``srgan`` family (see the module docstring).
CONTENT_LOSSES: tuple[str, ...] = ("vgg54", "vgg22", "mse", "random")


def content_loss(sr: Tensor, hr: Tensor, features: nn.Module | None) -> Tensor:
    """MSE between ``sr`` and ``hr`` (``(N, C, H, W)`` in [-1, 1]) in pixel space (``features`` None)
    or in the feature space of a frozen ``features`` network (HR features without gradients)."""
    if features is None:
        return F.mse_loss(sr.float(), hr.float())
    with torch.no_grad():
        target = features(hr)
    return F.mse_loss(features(sr).float(), target.float())


def build_content_network(content: str, *, feature_width: int = 16, feature_seed: int = 0,
                          feature_scale: float = 1.0) -> FeatureNetwork | None:
    """The frozen feature network of a content loss (``None`` for ``"mse"``).

    Raises:
        ValueError: unknown content loss.
        FeatureWeightsUnavailable: ``vgg54`` / ``vgg22`` without VGG19's weights.
    """
    if content not in CONTENT_LOSSES:
        raise ValueError(f"content loss {content!r} is not known; accepted: {', '.join(CONTENT_LOSSES)}")
    if content == "mse":
        return None
    if content == "random":
        return random_vgg_features(width=int(feature_width), seed=int(feature_seed), scale=float(feature_scale))
    return vgg19_features(content[3:])


def _size(t: Tensor) -> str:
    return "x".join(str(int(s)) for s in t.shape[-2:])


class SRResNetFamily(Family):
    """SRResNet trained on pixel MSE: ``build("srresnet", G)`` with ``G`` an :class:`~ganlab.nets.SRResNet`.

    Defaults: Adam, lr 1e-4, betas (0.9, 0.999) (the paper's optimiser).

    Raises:
        ValueError: G is not an SRResNet-like network (needs ``scale`` and ``channels``).
    """

    family = "srresnet"
    defaults: dict[str, Any] = {"lr_g": 1e-4, "betas": (0.9, 0.999)}
    groups = {"g": ("G",)}
    group_lr = {"g": "lr_g"}

    def __init__(self, G: nn.Module, **overrides: Any) -> None:
        self._check_generator(G)
        super().__init__({"G": G}, **overrides)

    @classmethod
    def _check_generator(cls, G: nn.Module) -> None:
        if not isinstance(G, nn.Module) or not isinstance(getattr(G, "scale", None), int) \
                or not isinstance(getattr(G, "channels", None), int):
            raise ValueError(f"{cls.family} needs a super-resolution generator with int attributes 'scale' "
                             f"and 'channels' (e.g. ganlab.nets.SRResNet); given {type(G).__name__}")

    @property
    def scale(self) -> int:
        """The generator's upscaling factor."""
        return int(self.G.scale)

    # ----- the contract ------------------------------------------------------------------
    def phases(self) -> list[Phase]:
        """One generator update per iteration."""
        return [Phase("g")]

    def check_data(self, dataset: Any) -> None:
        """A paired set whose sources are the generator's input: ``channels`` channels on both sides
        and sources exactly 1/``scale`` of the targets.

        Raises:
            ValueError: no sources, a channel mismatch, or sides that are not ``scale`` apart
                (says what was given and what is accepted).
        """
        name = getattr(getattr(dataset, "info", None), "name", type(dataset).__name__)
        images, sources = getattr(dataset, "images", None), getattr(dataset, "sources", None)
        if images is None or sources is None:
            raise ValueError(f"{self.family} trains on a paired set (low-resolution sources beside "
                             f"high-resolution images); {name!r} has no sources; accepted: e.g. photos_x4")
        c, s = int(self.G.channels), self.scale
        if images.shape[1] != c or sources.shape[1] != c:
            raise ValueError(f"{self.family}: the generator works on {c}-channel images; {name!r} has "
                             f"{sources.shape[1]}-channel sources and {images.shape[1]}-channel targets; "
                             f"accepted: {c} channels on both sides (or a network built with "
                             f"channels={images.shape[1]})")
        (H, W), (h, w) = images.shape[-2:], sources.shape[-2:]
        if (h * s, w * s) != (H, W):
            ratio = f"{H / h:g}" if W * h == H * w else f"{H / h:g} x {W / w:g}"
            accepted = f"sources of {H // s}x{W // s}" if H % s == 0 and W % s == 0 else f"targets a multiple of {s}"
            raise ValueError(f"{self.family}: the generator upscales x{s}, but {name!r} pairs "
                             f"{_size(sources)} sources with {_size(images)} targets (x{ratio}); "
                             f"accepted: {accepted} for this network, or a network built for the set's "
                             f"factor (scale must be one of 2, 4, 8)")

    def sample_inputs(self, n: int, device: torch.device | str | None = None,
                      generator: torch.Generator | None = None, *, z: Tensor | None = None,
                      source: Tensor | None = None, **conditions: Any) -> dict[str, Tensor]:
        """``{"source": (n, C, h, w)}``: the LR images to upscale (in [-1, 1]), moved to ``device``.

        Raises:
            ValueError: no ``source``, a latent ``z`` or other conditions (this family has no
                noise input), or a source of the wrong shape.
        """
        if z is not None or conditions:
            given = ", ".join(["z"] * (z is not None) + list(conditions))
            raise ValueError(f"{self.family} upscales low-resolution images and takes no {given}; pass source=")
        if source is None:
            raise ValueError(f"{self.family} generates from low-resolution images: pass "
                             f"source=(n, {self.G.channels}, h, w) in [-1, 1]")
        c = int(self.G.channels)
        if not isinstance(source, Tensor) or source.dim() != 4 or source.shape[0] != n or source.shape[1] != c:
            shape = tuple(source.shape) if isinstance(source, Tensor) else type(source).__name__
            raise ValueError(f"source must be a float tensor ({n}, {c}, h, w) in [-1, 1]; given {shape}")
        return {"source": source.to(device) if device is not None else source}

    def generate(self, net: nn.Module, **inputs: Tensor) -> Tensor:
        """``net(source)``: ``(n, C, h*s, w*s)`` in [-1, 1]."""
        return net(inputs["source"])

    def shards_reason(self) -> str | None:
        """Data-parallel runs are exact: a step draws nothing (the input is the low-resolution
        image) and the pixel, feature and adversarial losses are means over rows."""
        return self.global_draws_reason()

    def phase_loss(self, group: str, batch: Any, ctx: StepContext) -> tuple[Tensor, dict[str, Tensor]]:
        """Pixel MSE between G(LR) and HR (logged as ``g``)."""
        sr = self.G(batch.source)
        return F.mse_loss(sr.float(), batch.real.float()), {}

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["generator"] = {k: getattr(self.G, k) for k in ("scale", "channels", "width", "blocks", "norm", "residual")
                            if hasattr(self.G, k)}
        return out


class SRGAN(SRResNetFamily):
    """SRGAN: ``build("srgan", G, D, content=..., adv_weight=...)`` (module docstring).

    Defaults: Adam lr 1e-4 for G and D, betas (0.9, 0.999); extras ``adv_weight`` 1e-3,
    ``content`` ``"vgg54"``, ``content_weight`` 1.0 (multiplies the content term),
    ``feature_width`` 16, ``feature_seed`` 0 and ``feature_scale`` 1.0 (the ``"random"`` net).

    Raises:
        ValueError: G or D of the wrong kind, unknown content loss, negative weights.
        FeatureWeightsUnavailable: a VGG content loss without VGG19's weights.
    """

    family = "srgan"
    defaults: dict[str, Any] = {
        "lr_g": 1e-4, "lr_d": 1e-4, "betas": (0.9, 0.999),
        "extra": {"adv_weight": 1e-3, "content": "vgg54", "content_weight": 1.0, "feature_width": 16,
                  "feature_seed": 0, "feature_scale": 1.0},
    }
    groups = {"d": ("D",), "g": ("G",)}
    group_lr = {"d": "lr_d", "g": "lr_g"}

    def __init__(self, G: nn.Module, D: nn.Module, **overrides: Any) -> None:
        self._check_generator(G)
        if not isinstance(D, nn.Module):
            raise ValueError(f"srgan needs a discriminator nn.Module (e.g. ganlab.nets.SRDiscriminator); "
                             f"given {type(D).__name__}")
        Family.__init__(self, {"G": G, "D": D}, **overrides)
        x = self.recipe.extra
        # kept out of the module tree: no optimiser, not in the state_dict (module docstring)
        self.__dict__["_features"] = build_content_network(
            x["content"], feature_width=x["feature_width"], feature_seed=x["feature_seed"],
            feature_scale=x["feature_scale"])

    def check_extra(self) -> None:
        x = self.recipe.extra
        if x["content"] not in CONTENT_LOSSES:
            raise ValueError(f"content loss {x['content']!r} is not known; accepted: {', '.join(CONTENT_LOSSES)}")
        for key in ("adv_weight", "content_weight", "feature_scale"):
            if not float(x[key]) >= 0:
                raise ValueError(f"{key} must be >= 0; given {x[key]!r}")

    def check_data(self, dataset: Any) -> None:
        """:meth:`SRResNetFamily.check_data`, and D must judge the targets' channel count."""
        super().check_data(dataset)
        c = getattr(self.D, "channels", None)
        if isinstance(c, int) and c != dataset.images.shape[1]:
            raise ValueError(f"srgan: the discriminator judges {c}-channel images, the targets have "
                             f"{dataset.images.shape[1]}; accepted: D built with channels={dataset.images.shape[1]}")

    @property
    def adv_weight(self) -> float:
        """Weight of the adversarial term in G's loss."""
        return float(self.recipe.extra["adv_weight"])

    @property
    def features(self) -> FeatureNetwork | None:
        """The frozen feature network of the content loss (``None``: pixel MSE)."""
        return self.__dict__["_features"]

    def _features_on(self, device: torch.device) -> FeatureNetwork | None:
        net = self.features
        if net is not None and next(net.parameters()).device != device:
            net.to(device)
        return net

    def phases(self) -> list[Phase]:
        """One D update (fresh batch), then one G update on the same batch with D frozen."""
        return [Phase("d", 1, fresh_batch=True), Phase("g", 1, fresh_batch=False, freeze=("D",))]

    def phase_loss(self, group: str, batch: Any, ctx: StepContext) -> tuple[Tensor, dict[str, Tensor]]:
        """``d``: BCE of D on HR (real) and detached G(LR) (fake); ``g``: content + adv_weight x
        non-saturating adversarial loss. Logs ``content``, ``adv`` and the pixel ``mse`` (G), the
        mean D probabilities ``d_real`` / ``d_fake`` (D)."""
        if group == "d":
            fake = self.fakes_for_d(ctx, {"source": batch.source})
            real_logits, fake_logits = self.D(batch.real), self.D(fake)
            loss = d_loss_bce(real_logits, fake_logits)
            return loss, {"d_real": torch.sigmoid(real_logits.detach().float()).mean(),
                          "d_fake": torch.sigmoid(fake_logits.detach().float()).mean()}
        sr, _ = self.reuse_or_generate(ctx, lambda: {"source": batch.source})
        x = self.recipe.extra
        content = content_loss(sr, batch.real, self._features_on(sr.device))
        adv = g_loss_nonsaturating(self.D(sr))
        loss = float(x["content_weight"]) * content + self.adv_weight * adv
        return loss, {"content": content.detach(), "adv": adv.detach(),
                      "mse": F.mse_loss(sr.detach().float(), batch.real.float())}

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        net = self.features
        out["content"] = {"loss": self.recipe.extra["content"], "network": net.name if net is not None else "pixels",
                          "params": sum(p.numel() for p in net.parameters()) if net is not None else 0,
                          "frozen": True, "in_checkpoint": False}
        return out

