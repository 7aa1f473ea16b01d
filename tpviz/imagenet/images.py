"""Between pixels and model inputs: ImageNet normalisation, its inverse, and photo loading."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import DataError, InputError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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
    mean, std = _stats(x.device)
    return ((_levels(x) / 255 - mean) / std).to(x.dtype)


def _levels(x: torch.Tensor) -> torch.Tensor:
    """Model inputs (N, 3, H, W) -> their 8-bit pixel levels 0–255 (float, rounded, clipped)."""
    mean, std = _stats(x.device)
    return (x.detach().float() * std + mean).clamp(0, 1).mul(255).round()


def preprocess(images: np.ndarray | torch.Tensor, *, device: torch.device | str | None = None) -> torch.Tensor:
    """uint8 RGB pixels (N, H, W, 3) or (H, W, 3) -> model input (N, 3, H, W), float32, ImageNet-normalised.

    The input is never modified. ``device`` places the result (default: CPU).
    """
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
    x = pixels.to(device=device).permute(0, 3, 1, 2).float().div(255)
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
    to ``size``) and crops the centre ``size`` x ``size``. The file is only read.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no image file at {str(path)!r} (cwd: {os.getcwd()}): check the path")
    try:
        with Image.open(path) as img:
            img.draft("RGB", (resize or size, resize or size))  # JPEG: decode at reduced size, fast
            oriented = ImageOps.exif_transpose(img)
            oriented.load()
            rgb = _to_rgb(oriented)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise DataError(f"cannot read {str(path)!r} as an image ({err}); use a JPEG or PNG file") from None
    return fit_image(rgb, size=size, resize=resize)


def fit_image(img: Image.Image, *, size: int = 224, resize: int | None = 256) -> np.ndarray:
    """A PIL image of any mode and size -> uint8 RGB pixels (size, size, 3): converted to RGB (transparency
    onto white), the shorter side scaled to ``resize`` (None: to ``size``), the centre cropped."""
    if size <= 0 or (resize is not None and resize < size):
        raise InputError(f"need 0 < size <= resize, got size={size}, resize={resize}")
    rgb = _to_rgb(img)
    short = resize or size
    w, h = rgb.size
    scale = short / min(w, h)
    new = (max(short, round(w * scale)), max(short, round(h * scale)))
    rgb = rgb.resize(new, Image.Resampling.BILINEAR)  # antialiased when shrinking
    left, top = (new[0] - size) // 2, (new[1] - size) // 2
    return np.asarray(rgb.crop((left, top, left + size, top + size)), dtype=np.uint8).copy()


def load_image(path: str | os.PathLike, *, size: int = 224, resize: int | None = 256,
               device: torch.device | str | None = None) -> torch.Tensor:
    """Any photo file -> model input (1, 3, size, size): ``preprocess(read_image(path))``."""
    return preprocess(read_image(path, size=size, resize=resize), device=device)


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
