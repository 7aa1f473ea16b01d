"""Between pixels and model inputs: ImageNet normalisation, its inverse, and photo loading."""

from __future__ import annotations

import os
import warnings

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..errors import DataError, InputError
from ..files.read import readable_file
from ..validate import count

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MAX_PIXELS = 40_000_000  # what read_image decodes at most (a JPEG counts at its reduced decoding size)
MAX_SIDE = 4096  # the largest size / resize a caller may ask for
_REDUCIBLE = ("L", "RGB", "I", "F", "CMYK")  # modes PIL's reduce() averages correctly (no alpha, no palette)
_ORIENTATION = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
                5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
                8: Image.Transpose.ROTATE_90}  # EXIF orientation -> the transpose that displays it upright


def _stats(device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=torch.float32, device=device).view(1, 3, 1, 1)
    return mean, std


def pixel_bounds(like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The model-input values (1, 3, 1, 1) of pixel 0 and pixel 255 in each channel, on ``like``'s device."""
    mean, std = _stats(like.device)
    return ((0 - mean) / std).to(like.dtype), ((1 - mean) / std).to(like.dtype)


def pixel_scale(like: torch.Tensor) -> torch.Tensor:
    """(1, 3, 1, 1): how many 0–255 pixel levels one unit of model input is, per channel (255 · std)."""
    return (_stats(like.device)[1] * 255).to(like.dtype)


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Model inputs (N, 3, H, W) -> the same images as saved to 8-bit pixels and read back (clipped, rounded)."""
    x = check_images(x, pixels=False)
    mean, std = _stats(x.device)
    return ((_levels(x) / 255 - mean) / std).to(x.dtype)


def _levels(x: torch.Tensor) -> torch.Tensor:
    """Model inputs (N, 3, H, W) -> their 8-bit pixel levels 0–255 (float, rounded, clipped)."""
    mean, std = _stats(x.device)
    return (x.detach().float() * std + mean).clamp(0, 1).mul(255).round()


def preprocess(images: np.ndarray | torch.Tensor, *, device: torch.device | str | None = None) -> torch.Tensor:
    """uint8 RGB pixels (N, H, W, 3) or (H, W, 3) -> model input (N, 3, H, W), float32, ImageNet-normalised.

    The input is never modified. ``device`` places the result (default: CPU; "auto", "cuda", ... are checked
    as ``load_model`` checks them).
    """
    dev = None if device is None else _device(device)
    if isinstance(images, Image.Image):
        raise InputError("preprocess takes pixel arrays; for a photo use tpviz.load_image(path), "
                         "or np.asarray(img.convert('RGB'))")
    if not isinstance(images, (np.ndarray, torch.Tensor)):
        raise InputError(f"preprocess expects a uint8 array (N, H, W, 3), got {type(images).__name__}")
    pixels = torch.as_tensor(images).detach()
    if pixels.dtype != torch.uint8:
        raise InputError(
            f"preprocess expects uint8 pixels 0–255, got dtype {pixels.dtype}. Convert with "
            "(arr * 255).round().astype(np.uint8) if your values are in 0–1; model inputs need no preprocessing.")
    if pixels.ndim == 3:
        pixels = pixels.unsqueeze(0)
    if pixels.ndim != 4 or pixels.shape[-1] != 3:
        raise InputError(
            f"preprocess expects RGB pixels shaped (N, H, W, 3) or (H, W, 3), got {tuple(images.shape)}. "
            "Channels-first data: permute to channels-last; grayscale or RGBA: use tpviz.load_image.")
    x = pixels.to(device=dev).permute(0, 3, 1, 2).float().div(255)
    mean, std = _stats(x.device)
    return ((x - mean) / std).contiguous()


def deprocess(x: torch.Tensor) -> np.ndarray:
    """Model input (N, 3, H, W) or (3, H, W) -> uint8 RGB pixels (N, H, W, 3) or (H, W, 3), clipped to 0–255."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise InputError(f"deprocess expects a float model-input tensor (N, 3, H, W), got {_describe(x)}")
    single = x.ndim == 3
    batch = x.detach().unsqueeze(0) if single else x.detach()
    if batch.ndim != 4 or batch.shape[1] != 3:
        raise InputError(f"deprocess expects shape (N, 3, H, W) or (3, H, W), got {tuple(x.shape)}")
    pixels = _levels(batch).to(torch.uint8)
    out = pixels.permute(0, 2, 3, 1).cpu().numpy()
    return out[0] if single else out


def read_image(path: str | os.PathLike, *, size: int = 224, resize: int | None = 256) -> np.ndarray:
    """Any photo file -> uint8 RGB pixels (size, size, 3).

    Follows EXIF rotation, flattens transparency onto white, converts grayscale, palette and 16-bit
    images to RGB, scales the shorter side to ``resize`` (default 256, as for ImageNet evaluation; None:
    to ``size``) and crops the centre ``size`` x ``size``. The file is only read. A file whose header
    declares more than ``MAX_PIXELS`` pixels (after a JPEG's reduced decoding) is refused before decoding.
    """
    size, resize = _sizes(size, resize)
    file = readable_file(path, "image file", error=DataError)
    short = resize or size
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # PIL's own limit: one clear error
            with Image.open(file) as img:
                img.draft("RGB", (short, short))  # JPEG: decode at reduced size, fast
                _check_pixels(img.size, file)  # from the header: nothing is decoded yet
                img.load()
                orientation = img.getexif().get(0x0112)
                rgb = _to_rgb(_shrink(img, short))
    except DataError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise DataError(f"{str(file)!r} is too large to decode safely ({err}): shrink it to a few megapixels "
                        "first (any image editor, or PIL's Image.thumbnail)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, MemoryError) as err:
        raise DataError(f"cannot read {str(file)!r} as an image ({err}); use a JPEG or PNG file") from None
    method = _ORIENTATION.get(orientation) if isinstance(orientation, int) else None
    return fit_image(rgb.transpose(method) if method is not None else rgb, size=size, resize=resize)


def fit_image(img: Image.Image, *, size: int = 224, resize: int | None = 256) -> np.ndarray:
    """A PIL image of any mode and size -> uint8 RGB pixels (size, size, 3): converted to RGB (transparency
    onto white), the shorter side scaled to ``resize`` (None: to ``size``), the centre cropped. Only the
    kept square is resampled: no intermediate is larger than the image given or the result."""
    size, resize = _sizes(size, resize)
    rgb = _to_rgb(img)
    w, h = rgb.size
    side = min(w, h) * size / (resize or size)  # the kept square, in the image's own pixels
    left, top = (w - side) / 2, (h - side) / 2
    out = rgb.resize((size, size), Image.Resampling.BILINEAR, box=(left, top, left + side, top + side))
    return np.asarray(out, dtype=np.uint8).copy()


def _sizes(size: int, resize: int | None) -> tuple[int, int | None]:
    """``size`` and ``resize`` checked: whole numbers, 0 < size <= resize <= MAX_SIDE (resize may be None)."""
    size = count(size, "size", high=MAX_SIDE, hint="(224 for ImageNet models)")
    if resize is not None:
        resize = count(resize, "resize", low=size, high=MAX_SIDE, hint=f"(>= size={size}; 256 for ImageNet, or None)")
    return size, resize


def _check_pixels(dims: tuple[int, int], file: os.PathLike) -> None:
    """Refuse an image whose decoding would need more than ``MAX_PIXELS`` pixels of memory."""
    w, h = dims
    if w * h > MAX_PIXELS:
        raise DataError(f"{str(file)!r} is {w} x {h} pixels ({w * h / 1e6:.0f} megapixels), more than the "
                        f"{MAX_PIXELS / 1e6:.0f} tpviz decodes: shrink it first (any image editor, or "
                        "PIL's Image.thumbnail) to a few megapixels, or save it as JPEG")
    if min(w, h) < 1:
        raise DataError(f"{str(file)!r} has no pixels ({w} x {h}); use a real photo")


def _shrink(img: Image.Image, short: int) -> Image.Image:
    """A decoded image averaged down by a whole factor while its shorter side stays >= 2 * ``short`` (exact and
    cheap: later steps then work on a small image)."""
    if img.mode.startswith("I;16"):
        img = img.convert("I")
    factor = min(img.size) // (2 * short)
    return img.reduce(factor) if factor >= 2 and img.mode in _REDUCIBLE else img


def load_image(path: str | os.PathLike, *, size: int = 224, resize: int | None = 256,
               device: torch.device | str | None = None) -> torch.Tensor:
    """Any photo file -> model input (1, 3, size, size): ``preprocess(read_image(path))``."""
    dev = None if device is None else _device(device)  # a device that does not exist fails before any reading
    return preprocess(read_image(path, size=size, resize=resize), device=dev)


def _device(device: torch.device | str) -> torch.device:
    """``device`` checked exactly as ``load_model`` checks it ("auto", "cuda" where there is none...)."""
    from .models import resolve_device  # imports torchvision: only when a device is named

    return resolve_device(device)


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        img = Image.fromarray((arr / top * 255).clip(0, 255).round().astype(np.uint8), mode="L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    return img.convert("RGB")


def _describe(x: object) -> str:
    if isinstance(x, (torch.Tensor, np.ndarray)):
        return f"{type(x).__name__} of dtype {x.dtype} and shape {tuple(x.shape)}"
    return type(x).__name__


# How far (in model-input units, ~ standard deviations) an input may stray beyond the pixel range and still be
# taken as a normalised image (noise starts, images mid-attack); 0-255 floats, or images x10, are far beyond.
RANGE_MARGIN = 4.0


def check_images(x: object, *, name: str = "x", pixels: bool = True) -> torch.Tensor:
    """Check that ``x`` is a finite float batch of RGB model inputs (N, 3, H, W); return it. ``pixels``: also
    refuse values far outside what a normalised image can be (raw 0-255 or 0-1 pixels passed by mistake)."""
    if isinstance(x, np.ndarray):
        raise InputError(f"{name} is a numpy array; turn uint8 pixels (N, H, W, 3) into model inputs "
                         "with tpviz.preprocess(images)")
    if not isinstance(x, torch.Tensor):
        raise InputError(f"{name} must be a torch.Tensor of model inputs (N, 3, H, W), got {type(x).__name__}")
    if not x.is_floating_point():
        hint = " These look like raw pixels: use tpviz.preprocess(images)." if x.dtype == torch.uint8 else ""
        raise InputError(f"{name} must be a float tensor (N, 3, H, W), got dtype {x.dtype}.{hint}")
    if x.ndim == 3 and x.shape[0] == 3:
        raise InputError(f"{name} has shape {tuple(x.shape)}: one image needs a batch axis, "
                         f"use {name}.unsqueeze(0) -> (1, 3, H, W)")
    if x.ndim != 4 or x.shape[1] != 3:
        hint = " It looks channels-last: use tpviz.preprocess on uint8 pixels." if x.ndim == 4 and x.shape[-1] == 3 else ""
        raise InputError(f"{name} must have shape (N, 3, H, W), got {tuple(x.shape)}.{hint}")
    if x.shape[0] == 0:
        raise InputError(f"{name} is an empty batch (N = 0)")
    if not bool(torch.isfinite(x).all()):
        raise InputError(f"{name} contains NaN or infinite values; check how it was computed")
    lo, hi = pixel_bounds(x)
    if pixels and bool(((x < lo - RANGE_MARGIN) | (x > hi + RANGE_MARGIN)).any()):
        raise InputError(f"{name} holds values from {float(x.min()):.4g} to {float(x.max()):.4g}, far outside what a "
                         "normalised image can be (about -2.1 to 2.6): it looks like raw pixels (0-255 or 0-1 "
                         "floats). Turn pixels into model inputs with tpviz.preprocess(images) or tpviz.load_image(path)")
    return x
