"""``photos_x4``: real photographs for 4x super-resolution, offline (scikit-image + scikit-learn).

scikit-image's wheel ships a few colour photographs and scikit-learn two more. Like the SRGAN
protocol (train on crops of many images, test on whole held-out images such as Set5/Set14):

* ``train``: ``limit`` random ``image_size`` x ``image_size`` crops (default 2,000 of 96 px) from
  seven photos (astronaut, rocket, Hubble deep field, immunohistochemistry, motorcycle, coffee,
  china), each flipped / rotated by a random multiple of 90 degrees; positions seeded by ``seed``.
* ``test``: the held-out photos (chelsea, flower), each its centre 296 x 296 square (the largest
  multiple of 8 inside the smaller photo), whole — never seen in training.

The targets (``images``) are the high-resolution crops; the ``sources`` are their 4x bicubic
downsamplings (antialiased, as MATLAB's ``imresize``), uint8 ``(N, 3, H/4, W/4)``.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from .spec import Parts, Request
from .transforms import make_generator

__all__ = ["SCALE", "TRAIN_PHOTOS", "TEST_PHOTOS", "TEST_SIZE", "downsample", "build_photos_x4", "photo"]

SCALE = 4
TRAIN_PHOTOS = ("astronaut", "rocket", "hubble_deep_field", "immunohistochemistry", "motorcycle",
                "coffee", "china")
TEST_PHOTOS = ("chelsea", "flower")
TEST_SIZE = 296
N_TRAIN = 2000
LICENCES = ("astronaut, rocket, hubble_deep_field: NASA / SpaceX, public domain; coffee, chelsea, "
            "immunohistochemistry: CC0 (scikit-image); motorcycle: Middlebury stereo 2014 (research use); "
            "china, flower: CC BY 2.0 (scikit-learn sample images, Flickr)")


@functools.cache
def photo(name: str) -> torch.Tensor:
    """One photograph as uint8 ``(3, H, W)`` (scikit-image's ``skimage.data.<name>()`` or
    scikit-learn's ``load_sample_image(name + ".jpg")``)."""
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        array = load_sample_image(f"{name}.jpg")
    else:
        import skimage.data

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            array = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skimage.data, name)()
    return torch.from_numpy(np.array(array[..., :3], dtype=np.uint8, copy=True)).permute(2, 0, 1).contiguous()


def downsample(images: torch.Tensor, scale: int = SCALE) -> torch.Tensor:
    """Bicubic, antialiased ``scale`` x downsampling of uint8 ``(N, C, H, W)`` (H, W multiples of ``scale``)."""
    n, c, h, w = images.shape
    small = F.interpolate(images.float(), size=(h // scale, w // scale), mode="bicubic", antialias=True,
                          align_corners=False)
    return small.round_().clamp_(0, 255).to(torch.uint8)


def _random_crops(n: int, size: int, seed: int) -> torch.Tensor:
    g = make_generator(seed, 3003)
    photos = [photo(p) for p in TRAIN_PHOTOS]
    which = torch.randint(len(photos), (n,), generator=g)
    out = torch.empty((n, 3, size, size), dtype=torch.uint8)
    for i in range(n):
        img = photos[int(which[i])]
        top = int(torch.randint(img.shape[1] - size + 1, (), generator=g))
        left = int(torch.randint(img.shape[2] - size + 1, (), generator=g))
        crop = img[:, top:top + size, left:left + size]
        if torch.rand((), generator=g) < 0.5:
            crop = crop.flip(2)
        out[i] = torch.rot90(crop, int(torch.randint(4, (), generator=g)), dims=(1, 2))
    return out


def _test_images() -> torch.Tensor:
    out = []
    for name in TEST_PHOTOS:
        img = photo(name)
        top, left = (img.shape[1] - TEST_SIZE) // 2, (img.shape[2] - TEST_SIZE) // 2
        out.append(img[:, top:top + TEST_SIZE, left:left + TEST_SIZE])
    return torch.stack(out)


def build_photos_x4(req: Request) -> Parts:
    """Registry builder: high-resolution ``images`` and their 4x bicubic ``sources``.

    Raises:
        ValueError: ``image_size`` not a multiple of 4 in 16..256 (train), any ``image_size`` but
            296 for ``test`` (the held-out photos are used whole), or ``channels=1``.
    """
    if req.channels == 1:
        raise ValueError("photos_x4 is RGB; given channels=1; accepted: channels=3 or None")
    if req.split == "test":
        if req.image_size not in (None, TEST_SIZE):
            raise ValueError(f"photos_x4's test split holds whole held-out photos of {TEST_SIZE} px; given "
                             f"image_size={req.image_size}; accepted: None or {TEST_SIZE}")
        hr = _test_images()
        if req.limit is not None:
            hr = hr[: req.limit]
        names = TEST_PHOTOS[: hr.shape[0]]
    else:
        size = req.image_size or 96
        if size % SCALE or not 16 <= size <= 256:
            raise ValueError(f"photos_x4 crops must be a multiple of {SCALE} in 16..256 px; given "
                             f"image_size={size}; accepted: 16, 20, ..., 256 (default 96)")
        hr = _random_crops(req.limit or N_TRAIN, size, req.seed)
        names = TRAIN_PHOTOS
    return Parts(images=hr, sources=downsample(hr), limited=True,
                 info={"source": f"skimage.data / sklearn sample images: {', '.join(names)}"})
