"""Notebook 09 (InfoGAN): the mutual-information lower bound of the categorical code, the
Gaussian negative log-likelihood of the continuous codes, and sampling the latent
``[noise | one-hot | continuous]``, written by hand."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from ganlab.exercises import Case, register
from ganlab.models.infogan import info_loss


# ----------------------------------------------------------------------------- 09.mi_lower_bound
def _mi_lower_bound(cat_logits: torch.Tensor, categories: torch.Tensor) -> torch.Tensor:
    """Reference: ``log K - CE(cat_logits, categories)`` (the ``mi_lower_bound`` that
    :func:`ganlab.models.infogan.info_loss` logs)."""
    n = cat_logits.shape[0]
    empty = cat_logits.new_zeros(n, 0)
    return info_loss(cat_logits, empty, categories, empty)[1]["mi_lower_bound"]


def _mi_cases() -> list[Case]:
    gen = torch.Generator().manual_seed(9)
    cats = torch.randint(10, (64,), generator=gen)
    three = torch.tensor([0, 2, 1, 2, 0])
    return [Case("random Q: 64 fakes, 10 categories", (torch.randn(64, 10, generator=gen) * 2, cats)),
            Case("a Q that names every code (logits 50 * one-hot)", (50 * F.one_hot(cats, 10).float(), cats)),
            Case("a 3-way code, 5 fakes", (torch.randn(5, 3, generator=gen), three))]


def _mi_no_log_k(cat_logits, categories):
    return cat_logits.log_softmax(dim=1).gather(1, categories[:, None]).mean()


def _mi_probabilities(cat_logits, categories):
    k = cat_logits.shape[1]
    return math.log(k) + cat_logits.softmax(dim=1).gather(1, categories[:, None]).mean()


def _mi_softmax_over_batch(cat_logits, categories):
    k = cat_logits.shape[1]
    return math.log(k) + cat_logits.log_softmax(dim=0).gather(1, categories[:, None]).mean()


def _mi_sum(cat_logits, categories):
    k = cat_logits.shape[1]
    return math.log(k) + cat_logits.log_softmax(dim=1).gather(1, categories[:, None]).sum()


register(
    "09.mi_lower_bound",
    title="the mutual-information lower bound of the categorical code",
    hint=("H(c) = log K for a uniform K-way code; add the mean over the batch of log Q(c | x), i.e. "
          "the log-softmax of the logits over the K categories (dim=1) picked at each fake's own code "
          "(.gather(1, categories[:, None])). It equals log K - F.cross_entropy(cat_logits, categories)."),
    reference=_mi_lower_bound, cases=_mi_cases,
    wrong=(_mi_no_log_k, _mi_probabilities, _mi_softmax_over_batch, _mi_sum),
)


# ----------------------------------------------------------------------------- 09.continuous_nll
def _continuous_nll(means: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """Reference: ``mean_batch sum_j 0.5 (c_j - mu_j)^2`` (the ``l_cont`` of ``info_loss``)."""
    n = means.shape[0]
    logits, cats = means.new_zeros(n, 1), torch.zeros(n, dtype=torch.long)
    return info_loss(logits, means, cats, codes, lambda_cat=0.0)[1]["l_cont"]


def _nll_cases() -> list[Case]:
    gen = torch.Generator().manual_seed(19)
    return [Case("64 fakes, 2 continuous codes", (torch.randn(64, 2, generator=gen),
                                                  torch.rand(64, 2, generator=gen) * 2 - 1)),
            Case("Q predicts 0 for every code", (torch.zeros(8, 2), torch.linspace(-1, 1, 16).reshape(8, 2))),
            Case("5 codes, 3 fakes", (torch.randn(3, 5, generator=gen), torch.rand(3, 5, generator=gen) * 2 - 1))]


def _nll_no_half(means, codes):
    return ((codes - means) ** 2).sum(dim=1).mean()


def _nll_mean_over_codes(means, codes):
    return (0.5 * (codes - means) ** 2).mean()


def _nll_sum_over_batch(means, codes):
    return (0.5 * (codes - means) ** 2).sum()


def _nll_abs(means, codes):
    return (0.5 * (codes - means).abs()).sum(dim=1).mean()


register(
    "09.continuous_nll",
    title="the Gaussian negative log-likelihood of the continuous codes",
    hint=("-log N(c; mu, 1) = 0.5 (c - mu)^2 + a constant (dropped): a squared error times one half, "
          "summed over the codes of a fake (dim=1), then averaged over the batch."),
    reference=_continuous_nll, cases=_nll_cases,
    wrong=(_nll_no_half, _nll_mean_over_codes, _nll_sum_over_batch, _nll_abs),
)


# ----------------------------------------------------------------------------- 09.sample_latent
def _sample_latent(n: int, noise_dim: int, n_categories: int, n_continuous: int,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Reference: ``[noise U(-1, 1) | one-hot of a uniform category | continuous U(-1, 1)]``,
    drawn in the order of :meth:`ganlab.models.InfoGAN.sample_inputs` (noise, category,
    continuous; equal to it for ``noise="uniform"``)."""
    noise = torch.rand(n, noise_dim, generator=generator) * 2 - 1
    cat = torch.randint(n_categories, (n,), generator=generator)
    cont = torch.rand(n, n_continuous, generator=generator) * 2 - 1
    return torch.cat([noise, F.one_hot(cat, n_categories).to(noise.dtype), cont], dim=1)


_STATS = ("same generator seed gives the same latents", "another seed gives other latents",
          "noise within [-1, 1]", "noise mean", "noise variance", "one-hot rows (one 1, the rest 0)",
          "share of each category", "continuous codes within [-1, 1]", "continuous mean", "continuous variance")


def _observe_latent(fn: Callable[..., Any], case: Case) -> dict[str, Any]:
    """What any correct sampler shares, whatever order it draws in: the shape, that the
    ``generator`` argument decides the draw, each part's range, mean and variance, valid one-hot
    rows and the share of each category (20,000 or 50,000 latents: the tolerance 0.02 is over six
    standard errors of the difference of two draws)."""
    n, nd, k, c = case.args
    z = fn(n, nd, k, c, generator=torch.Generator().manual_seed(1))
    if not isinstance(z, torch.Tensor):
        return {"a tensor": False, "shape": None, **dict.fromkeys(_STATS)}
    out: dict[str, Any] = {"a tensor": True, "shape": tuple(z.shape)}
    if tuple(z.shape) != (n, nd + k + c):  # the shape is the first difference reported
        return {**out, **dict.fromkeys(_STATS)}
    z = z.detach().double()
    again = fn(n, nd, k, c, generator=torch.Generator().manual_seed(1))
    other = fn(n, nd, k, c, generator=torch.Generator().manual_seed(2))
    noise, one_hot, cont = z[:, :nd], z[:, nd:nd + k], z[:, nd + k:]
    out.update({
        "same generator seed gives the same latents": bool(torch.equal(z, again.detach().double())),
        "another seed gives other latents": bool(not torch.equal(z, other.detach().double())),
        "noise within [-1, 1]": bool(noise.abs().max() <= 1),
        "noise mean": float(noise.mean()), "noise variance": float(noise.var()),
        "one-hot rows (one 1, the rest 0)": bool(((one_hot == 0) | (one_hot == 1)).all()
                                                 and (one_hot.sum(dim=1) == 1).all()),
        "share of each category": one_hot.mean(dim=0).float(),
        "continuous codes within [-1, 1]": bool(cont.abs().max() <= 1),
        "continuous mean": float(cont.mean()), "continuous variance": float(cont.var()),
    })
    return out


def _latent_cases() -> list[Case]:
    return [Case("MNIST layout: 4 noise dims, 10 categories, 2 continuous codes; 20,000 latents", (20_000, 4, 10, 2)),
            Case("3 noise dims, a 3-way code, 5 continuous codes; 50,000 latents", (50_000, 3, 3, 5))]


def _lat_normal_codes(n, noise_dim, n_categories, n_continuous, generator=None):
    z = _sample_latent(n, noise_dim, n_categories, n_continuous, generator)
    z[:, noise_dim + n_categories:] = torch.randn(n, n_continuous, generator=generator)
    return z


def _lat_normal_noise(n, noise_dim, n_categories, n_continuous, generator=None):
    z = _sample_latent(n, noise_dim, n_categories, n_continuous, generator)
    z[:, :noise_dim] = torch.randn(n, noise_dim, generator=generator)
    return z


def _lat_index_not_one_hot(n, noise_dim, n_categories, n_continuous, generator=None):
    noise = torch.rand(n, noise_dim, generator=generator) * 2 - 1
    cat = torch.randint(n_categories, (n, 1), generator=generator).float()
    return torch.cat([noise, cat, torch.rand(n, n_continuous, generator=generator) * 2 - 1], dim=1)


def _lat_off_by_one(n, noise_dim, n_categories, n_continuous, generator=None):
    noise = torch.rand(n, noise_dim, generator=generator) * 2 - 1
    cat = torch.randint(n_categories - 1, (n,), generator=generator)
    cont = torch.rand(n, n_continuous, generator=generator) * 2 - 1
    return torch.cat([noise, F.one_hot(cat, n_categories).float(), cont], dim=1)


def _lat_unit_interval(n, noise_dim, n_categories, n_continuous, generator=None):
    noise = torch.rand(n, noise_dim, generator=generator) * 2 - 1
    cat = torch.randint(n_categories, (n,), generator=generator)
    cont = torch.rand(n, n_continuous, generator=generator)
    return torch.cat([noise, F.one_hot(cat, n_categories).float(), cont], dim=1)


def _lat_codes_first(n, noise_dim, n_categories, n_continuous, generator=None):
    z = _sample_latent(n, noise_dim, n_categories, n_continuous, generator)
    return torch.cat([z[:, noise_dim:], z[:, :noise_dim]], dim=1)


def _lat_ignores_generator(n, noise_dim, n_categories, n_continuous, generator=None):
    return _sample_latent(n, noise_dim, n_categories, n_continuous, None)


register(
    "09.sample_latent",
    title="sampling InfoGAN's latent [noise | one-hot code | continuous codes]",
    hint=("three parts, concatenated on dim=1 in this order: noise U(-1, 1) (torch.rand * 2 - 1), the one-hot "
          "(F.one_hot, as floats) of a category drawn uniformly from all n_categories values (torch.randint), "
          "and the continuous codes U(-1, 1) — not N(0, 1). Pass generator=generator to every draw."),
    reference=_sample_latent, cases=_latent_cases, observe=_observe_latent, atol=0.02, rtol=0.0,
    wrong=(_lat_normal_codes, _lat_normal_noise, _lat_index_not_one_hot, _lat_off_by_one, _lat_unit_interval,
           _lat_codes_first, _lat_ignores_generator),
)
