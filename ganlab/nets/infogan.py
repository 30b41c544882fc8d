"""InfoGAN's discriminator with its Q head (Chen et al. 2016) for 28, 32 and 64 px.

InfoGAN adds structured codes ``c`` to the noise of a plain generator and a network ``Q`` that
recovers ``c`` from ``G(z, c)``. Q shares D's body (the published MNIST model: the trunk conv 64
-> conv 128 -> FC 1024 is shared, Q adds FC 128 and the code outputs), so one body pass gives
both D's logit and Q's predictions. ``fc_hidden`` adds that shared FC layer (1024 published;
0 = none, the DCGAN discriminator's body alone).

The generator is the plain :class:`~ganlab.nets.DCGANGenerator` with
``nz = noise_dim + n_categories + n_continuous``; its latent vector is laid out as::

    z = [ noise (noise_dim) | one-hot categorical code (n_categories) | continuous codes (n_continuous) ]

(:class:`ganlab.models.InfoGAN` draws, splits and checks it.)

:class:`InfoGANDiscriminator`, e.g. 28 px, ``ndf=64``::

    body:   1x28x28 -> 128x14x14 -> 256x7x7     (the DCGAN D body, ganlab.nets.dcgan's widths)
    fc_hidden = 0 (default):
      d_head: 7x7 valid conv -> 1 logit            (as DCGANDiscriminator)
      q:      flatten 256*7*7 -> FC q_hidden (no bias) -> BatchNorm1d -> LeakyReLU(slope)
              -> FC (n_categories + n_continuous): categorical logits | continuous means
    fc_hidden = F > 0 (the published trunk):
      body += flatten -> FC F (no bias) -> BatchNorm1d -> LeakyReLU   (shared by D and Q)
      d_head: FC F -> 1 logit;  q: FC F -> FC q_hidden -> BN -> LeakyReLU -> FC codes
"""

from __future__ import annotations

import torch
from torch import nn

from ganlab.nets.conditional import _check_images, _down_body
from ganlab.nets.dcgan import _SPECS, _check, _check_dropout
from ganlab.nets.init import init_dcgan_weights
from ganlab.nets.layers import apply_spectral_norm

__all__ = ["InfoGANDiscriminator"]


def _check_codes(n_categories: object, n_continuous: object, q_hidden: object) -> None:
    def is_int(v: object) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    if not is_int(n_categories) or n_categories < 2:  # type: ignore[operator]
        raise ValueError(f"n_categories must be an int >= 2 (one categorical code with that many values); got {n_categories!r}")
    if not is_int(n_continuous) or n_continuous < 0:  # type: ignore[operator]
        raise ValueError(f"n_continuous must be an int >= 0 (0 = no continuous code); got {n_continuous!r}")
    if not is_int(q_hidden) or q_hidden < 1:  # type: ignore[operator]
        raise ValueError(f"q_hidden must be a positive int; got {q_hidden!r}")


class InfoGANDiscriminator(nn.Module):
    """DCGAN discriminator body with two heads: D's logit and Q's code predictions.

    Args:
        image_size, channels, ndf, norm, spectral_norm, dropout, slope: as
            :class:`~ganlab.nets.DCGANDiscriminator` (``norm`` and ``spectral_norm`` apply to the
            body and ``d_head``; the Q head always has its own ``BatchNorm1d``, as published,
            and no spectral norm: it does not enter D's output).
        n_categories: values of the categorical code (>= 2; 10 for MNIST digits).
        n_continuous: number of continuous codes (>= 0).
        q_hidden: width of Q's hidden FC layer (128 published).
        fc_hidden: width of a shared FC layer after the convolutions (1024 published; 0 = none).
            With ``BatchNorm1d`` when ``norm="batch"`` (other norms: a plain FC layer).

    Attributes:
        in_shape, n_categories, n_continuous, feat_dim (size of the flattened body output).

    Raises:
        ValueError: bad sizes, norm, widths, n_categories < 2 or n_continuous < 0.
    """

    def __init__(
        self,
        image_size: int = 28,
        channels: int = 1,
        ndf: int = 64,
        n_categories: int = 10,
        n_continuous: int = 2,
        norm: str = "batch",
        spectral_norm: bool = False,
        q_hidden: int = 128,
        dropout: float = 0.0,
        slope: float = 0.2,
        fc_hidden: int = 0,
    ) -> None:
        super().__init__()
        _check(image_size, channels, norm, ndf, "ndf")
        _check_dropout(dropout)
        _check_codes(n_categories, n_continuous, q_hidden)
        if isinstance(fc_hidden, bool) or not isinstance(fc_hidden, int) or fc_hidden < 0:
            raise ValueError(f"fc_hidden must be an int >= 0 (0 = no shared FC layer); got {fc_hidden!r}")
        self.in_shape = (channels, image_size, image_size)
        self.n_categories, self.n_continuous = int(n_categories), int(n_continuous)
        start, mults = _SPECS[image_size]
        bias = norm == "none"
        widths = [ndf * m for m in reversed(mults)]
        layers = _down_body(channels, widths, norm, bias, slope, dropout)
        self.feat_dim = widths[-1] * start * start
        if fc_hidden:
            layers += [nn.Flatten(), nn.Linear(self.feat_dim, fc_hidden, bias=norm != "batch")]
            layers += [nn.BatchNorm1d(fc_hidden)] if norm == "batch" else []
            layers += [nn.LeakyReLU(slope, inplace=True)]
            self.feat_dim = fc_hidden
            self.d_head: nn.Module = nn.Linear(fc_hidden, 1)
        else:
            self.d_head = nn.Conv2d(widths[-1], 1, start, 1, 0, bias=bias)  # start x start -> 1x1
        self.body = nn.Sequential(*layers)
        self.q = nn.Sequential(
            nn.Flatten(),
            nn.Linear(self.feat_dim, q_hidden, bias=False),
            nn.BatchNorm1d(q_hidden),
            nn.LeakyReLU(slope),
            nn.Linear(q_hidden, self.n_categories + self.n_continuous),
        )
        init_dcgan_weights(self)
        if spectral_norm:
            apply_spectral_norm(self.body)
            apply_spectral_norm(self.d_head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(N, *in_shape)`` in [-1, 1] -> D's logits ``(N,)`` (the Q head is not run)."""
        _check_images(x, self.in_shape)
        return self.d_head(self.body(x)).reshape(x.shape[0])

    def forward_with_q(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One body pass -> ``(logits (N,), categorical logits (N, n_categories), continuous means (N, n_continuous))``."""
        _check_images(x, self.in_shape)
        h = self.body(x)
        q = self.q(h)
        k = self.n_categories
        return self.d_head(h).reshape(x.shape[0]), q[:, :k], q[:, k:]
