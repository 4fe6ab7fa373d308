"""Turn a photograph (a file, a PIL image or an array) into what the lesson's models take.

Episode 6 teaches the model side of a prediction (a batch of one, ``predict``, softmax,
``argmax``) and what preprocessing must do; this module is the plumbing that does it
for real photographs, where ``keras.utils.load_img(path, target_size=(32, 32))`` goes
wrong three ways: it squashes a non-square photo, ignores the EXIF orientation a phone
stores instead of rotating the pixels, and happily takes an array already scaled to 0-1.

Written here rather than taken from a library because no single well-kept function does
all of it: Pillow provides each step (``ImageOps.exif_transpose``, ``ImageOps.fit``,
area resampling), and this module only chains them and checks the input, so that bad
input gets one clear sentence instead of a wrong prediction or an error from deep
inside TensorFlow.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["prepare_image"]


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode to RGB; transparent pixels become white, not black."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grey: scale to 8 bits
        a = np.asarray(img, dtype=np.float64)
        a = a * (255.0 / max(a.max(), 1.0))
        return Image.fromarray(a.astype(np.uint8)).convert("RGB")
    return img.convert("RGB")


def _array_to_image(x: np.ndarray) -> Image.Image:
    if x.ndim == 3 and x.shape[0] in (1, 3, 4) and x.shape[-1] not in (1, 3, 4):
        raise ValueError(f"the array has shape {x.shape}, with the colour channels first: "
                         "move them last, e.g. np.moveaxis(x, 0, -1)")
    if x.ndim == 2:
        x = x[:, :, np.newaxis]
    if x.ndim != 3 or x.shape[-1] not in (1, 3, 4):
        raise ValueError(f"expected an image array of shape (height, width) or "
                         f"(height, width, 1, 3 or 4 channels), got {x.shape}: "
                         "give one image, with its colour channels last")
    if x.size == 0:
        raise ValueError("the image array is empty: give an image with pixels")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError(f"the array holds {x.dtype} values, not pixel values: "
                         "give numbers from 0 to 255")
    if not np.all(np.isfinite(x)):
        raise ValueError("the image array contains NaN or infinite values: "
                         "give pixel values from 0 to 255")
    lo, hi = float(x.min()), float(x.max())
    if np.issubdtype(x.dtype, np.floating) and 0 < hi <= 1.0:
        raise ValueError("the pixel values lie between 0 and 1, but the model expects 0 to "
                         "255 (it rescales them itself): pass the image before dividing by "
                         "255, or multiply it by 255")
    if lo < 0 or hi > 255:
        raise ValueError(f"pixel values must lie between 0 and 255, these go from {lo:g} "
                         f"to {hi:g}: undo any normalisation before calling")
    x = np.rint(x).astype(np.uint8) if not x.dtype == np.uint8 else x
    channels = x.shape[-1]
    if channels == 1:
        return Image.fromarray(x[:, :, 0], mode="L")
    return Image.fromarray(x, mode="RGBA" if channels == 4 else "RGB")


def prepare_image(source, size: int = 32) -> np.ndarray:
    """One image as a float32 array of shape (size, size, 3) with values from 0 to 255.

    source: a path to an image file, a PIL image, or a NumPy array of shape
    (height, width) or (height, width, channels) with values from 0 to 255.

    Steps, in order: apply the EXIF orientation (phone photos store "rotate me"
    instead of rotating the pixels); convert grey-scale, palette and CMYK to RGB
    (transparent pixels become white); crop the largest centred square, so that
    the photo is not squashed; resize it to size x size with area averaging (each
    new pixel is the mean of the pixels it covers: no aliasing) or, when the image
    is smaller, bicubic interpolation.

    Raises FileNotFoundError, TypeError or ValueError with one sentence that says
    what is wrong and what to do, e.g. for a file that is not an image, an array
    already scaled to 0-1, or one with the colour channels first.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"no image file at {str(path)!r}: check the name and "
                                    "the folder the notebook runs in")
        try:
            with Image.open(path) as opened:
                opened.load()
                img = opened.copy()
                img.info.update(opened.info)
        except (UnidentifiedImageError, OSError, SyntaxError) as err:
            raise ValueError(f"{str(path)!r} is not an image file that Pillow can read "
                             f"({type(err).__name__}): give a photo such as a JPEG or PNG "
                             "file") from None
        img = ImageOps.exif_transpose(img)
    elif isinstance(source, Image.Image):
        img = ImageOps.exif_transpose(source)
    elif isinstance(source, np.ndarray):
        img = _array_to_image(source)
    else:
        raise TypeError(f"expected a file path, a PIL image or a NumPy array, not "
                        f"{type(source).__name__}: load the image first, "
                        "e.g. np.asarray(Image.open(path))")
    img = _to_rgb(img)
    smaller = min(img.size) < size
    method = Image.Resampling.BICUBIC if smaller else Image.Resampling.BOX
    img = ImageOps.fit(img, (size, size), method=method, centering=(0.5, 0.5))
    return np.asarray(img, dtype=np.float32)
