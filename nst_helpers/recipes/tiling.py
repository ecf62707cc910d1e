"""Style transfer at high resolution, one tile at a time.

A whole-image transfer at 4000 px needs tens of GiB (optimization.memory). Here the picture is
stylized small, upsampled, and then refined at full size: every step cuts the image into
overlapping tiles and sends one tile at a time through VGG19, so peak memory is one tile's
plus a few full-size image buffers. The tile grid moves by a random offset every step, so no
tile border stays in one place long enough to leave a seam.
"""
from __future__ import annotations

import inspect
import math
import time
import warnings
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from ..core.devices import resolve_device
from ..core.images import MIN_SIDE, resize
from ..core.losses import content_loss, gram_matrix, style_loss, tv_loss
from ..core.validation import check_image, check_weight, layer_weights
from ..core.vgg import get_extractor
from ..core.vgg import VGG19Features
from ..methods.gatys import style_transfer
from ..optimization.loop import OptimizationResult

#: style_transfer's keyword arguments and their defaults; the refinement uses the same settings.
TRANSFER_DEFAULTS = {name: p.default for name, p in inspect.signature(style_transfer).parameters.items()
                     if p.kind is inspect.Parameter.KEYWORD_ONLY}
#: Set by tiled_style_transfer itself (base_steps, seed, progress), so not accepted as extra keywords.
RESERVED = ("steps", "seed", "progress")


@dataclass
class TiledResult:
    """image: (1, 3, H, W) in [0, 1] at the content's full size. base: the low-resolution pass.
    history: the refinement's per-step "total", "content", "style" and "tv" losses (weighted,
    summed over the tiles). steps: refinement steps done; seconds: both passes together."""

    image: torch.Tensor
    base: OptimizationResult
    history: dict[str, list[float]] = field(default_factory=dict)
    steps: int = 0
    seconds: float = 0.0
    interrupted: bool = False


def tile_spans(length: int, tile: int, overlap: int, offset: int = 0) -> list[tuple[int, int]]:
    """[start, end) spans covering 0..length: windows of `tile` pixels every tile - overlap
    pixels, the grid shifted right by `offset`, clipped to the image. Every span is at least
    MIN_SIDE long (a short edge span is widened inwards) and at most `tile`."""
    stride = tile - overlap
    start = offset % stride - stride if offset % stride else 0
    spans = []
    while True:
        a, b = max(start, 0), min(start + tile, length)
        a, b = min(a, max(b - MIN_SIDE, 0)), max(b, min(a + MIN_SIDE, length))
        spans.append((a, b))
        if b >= length:
            return spans
        start += stride


def tiled_grams(extractor: VGG19Features, image: torch.Tensor, layers: list[str],
                tile: int) -> dict[str, torch.Tensor]:
    """Gram matrices {layer: (1, C, C)} of a whole image (1, 3, H, W) in [0, 1], computed over
    non-overlapping tiles: each tile's Gram weighted by its number of feature positions."""
    sums: dict[str, torch.Tensor] = {}
    positions: dict[str, int] = {}
    with torch.no_grad():
        for y0, y1 in tile_spans(image.shape[-2], tile, 0):
            for x0, x1 in tile_spans(image.shape[-1], tile, 0):
                for name, f in extractor.features(image[..., y0:y1, x0:x1], layers).items():
                    n = f.shape[-2] * f.shape[-1]
                    sums[name] = sums.get(name, 0) + gram_matrix(f) * n
                    positions[name] = positions.get(name, 0) + n
    return {name: sums[name] / positions[name] for name in sums}


def _check_int(value: object, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return value


def tiled_style_transfer(content: torch.Tensor, style: torch.Tensor, *, base_size: int = 384,
                         tile: int = 256, overlap: int = 32, steps: int = 100, base_steps: int = 300,
                         lr: float = 0.01, seed: int = 0, shift_tiles: bool = True, progress: bool = True,
                         **style_transfer_kwargs) -> TiledResult:
    """Paint a large `content` (1, 3, H, W) in [0, 1] in the style of `style` (1, 3, h, w) in [0, 1].

    1. style_transfer on a copy of the content with long side `base_size` (`base_steps` steps);
    2. upsample that result to H x W;
    3. `steps` Adam steps (learning rate `lr`) at full size, tile by tile: tiles of `tile` pixels
       overlapping by `overlap`, on a grid moved by a random offset each step (`shift_tiles`;
       seeded by `seed`). Each tile's content loss compares it with the same tile of the content;
       its style loss uses Gram targets computed once from the style, scaled by the same factor
       as the content (full size / base size), so brush strokes keep their size in the picture.
    style_transfer_kwargs: as for style_transfer. Layers, loss weights, loss_kind, device,
        weights, pooling and precision apply to both passes; optimizer, init and callback only to
        the first (which uses style_transfer's default learning rate).
    Ctrl-C during the refinement returns the current image with interrupted=True.
    """
    check_image(content, "content")
    check_image(style, "style")
    base_size = _check_int(base_size, "base_size", MIN_SIDE)
    tile = _check_int(tile, "tile", MIN_SIDE)
    overlap = _check_int(overlap, "overlap", 0)
    if overlap >= tile:
        raise ValueError(f"overlap must be smaller than tile ({tile}), got {overlap}")
    steps = _check_int(steps, "steps", 1)
    base_steps = _check_int(base_steps, "base_steps", 1)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    for name in style_transfer_kwargs:
        if name in RESERVED:
            raise ValueError(f"{name}: not accepted here; use base_steps/steps, seed and progress")
        if name not in TRANSFER_DEFAULTS:
            valid = ", ".join(k for k in TRANSFER_DEFAULTS if k not in RESERVED)
            raise ValueError(f"{name}: not a style_transfer setting; valid ones are {valid}")
    settings = {**TRANSFER_DEFAULTS, **style_transfer_kwargs}
    content_w = layer_weights(settings["content_layers"], "content_layers")
    style_w = layer_weights(settings["style_layers"], "style_layers")
    weights = {k: check_weight(settings[k], k) for k in ("content_weight", "style_weight", "tv_weight")}

    height, width = content.shape[-2:]
    small = resize(content, base_size) if max(height, width) > base_size else content
    base = style_transfer(small, style, steps=base_steps, seed=seed, progress=progress, **style_transfer_kwargs)
    start = resize(base.image, (height, width))
    if base.interrupted:
        return TiledResult(start, base, seconds=base.seconds, interrupted=True)

    device = resolve_device(settings["device"])
    extractor = get_extractor(settings["weights"], settings["pooling"], str(device), settings["precision"])
    scale = max(height, width) / max(small.shape[-2:])
    style_at_scale = resize(style, max(MIN_SIDE, round(max(style.shape[-2:]) * scale)))
    style_grams = tiled_grams(extractor, style_at_scale.to(device), list(style_w), tile)
    del style_at_scale  # can be as large as the content
    content = content.to(device)
    needed = list(dict.fromkeys([*content_w, *style_w]))
    loss_kind = settings["loss_kind"]

    image = start.to(device).requires_grad_(True)
    optimizer = torch.optim.Adam([image], lr=lr)
    generator = torch.Generator().manual_seed(seed)
    stride = tile - overlap
    history: dict[str, list[float]] = {"total": [], "content": [], "style": [], "tv": []}
    step, interrupted, began = 0, False, time.perf_counter()
    bar = tqdm(total=steps, desc="tiled refinement", disable=not progress, leave=True)
    try:
        while step < steps:
            dy, dx = torch.randint(0, stride, (2,), generator=generator).tolist() if shift_tiles else (0, 0)
            tv = weights["tv_weight"] * tv_loss(image)
            grad = torch.autograd.grad(tv, image)[0]
            losses = {"content": 0.0, "style": 0.0, "tv": tv.item()}
            for y0, y1 in tile_spans(height, tile, overlap, dy):
                for x0, x1 in tile_spans(width, tile, overlap, dx):
                    share = (y1 - y0) * (x1 - x0) / (height * width)  # tile losses add up to a whole-image one
                    with torch.no_grad():
                        targets = extractor.features(content[..., y0:y1, x0:x1], content_w)
                    piece = image.detach()[..., y0:y1, x0:x1].clone().requires_grad_(True)
                    features = extractor.features(piece, needed)
                    c = share * weights["content_weight"] * content_loss(features, targets, content_w, loss_kind)
                    s = share * weights["style_weight"] * style_loss(features, style_grams, style_w, loss_kind)
                    (c + s).backward()
                    grad[..., y0:y1, x0:x1] += piece.grad
                    losses["content"] += c.item()
                    losses["style"] += s.item()
            image.grad = grad
            optimizer.step()
            with torch.no_grad():
                image.clamp_(0, 1)
            step += 1
            for key, value in {"total": sum(losses.values()), **losses}.items():
                history[key].append(value)
            bar.set_postfix({k: f"{v[-1]:.3g}" for k, v in history.items()}, refresh=False)
            bar.update(1)
    except KeyboardInterrupt:
        interrupted = True
        warnings.warn(f"interrupted at refinement step {step}; returning the current image", RuntimeWarning,
                      stacklevel=2)
    finally:
        bar.close()
    return TiledResult(image.detach().clamp(0, 1), base, history, step,
                       base.seconds + time.perf_counter() - began, interrupted)


def seam_score(image: torch.Tensor, period: int, offset: int = 0) -> float:
    """How much the image jumps across a grid of lines every `period` pixels from `offset`.

    image: (N, C, H, W). The mean absolute difference between neighbouring pixels across the
    grid lines (columns and rows x, y = offset + k * period, the pair (x - 1, x)) divided by
    the same mean over all other neighbouring pairs: about 1.0 means no seams, well above 1
    means visible ones.
    """
    if not isinstance(image, torch.Tensor) or image.dim() != 4:
        raise ValueError(f"image: expected a tensor (N, C, H, W), got {getattr(image, 'shape', type(image))}")
    period = _check_int(period, "period", 2)
    height, width = image.shape[-2:]
    image = image.detach().float()
    dx = (image[..., :, 1:] - image[..., :, :-1]).abs()  # dx[..., x - 1]: the pair (x - 1, x)
    dy = (image[..., 1:, :] - image[..., :-1, :]).abs()
    on_x = torch.zeros(width - 1, dtype=torch.bool)
    on_x[[x - 1 for x in range(offset % period, width, period) if x > 0]] = True
    on_y = torch.zeros(height - 1, dtype=torch.bool)
    on_y[[y - 1 for y in range(offset % period, height, period) if y > 0]] = True
    if not (on_x.any() or on_y.any()):
        raise ValueError(f"period: {period} leaves no grid line inside a {width}x{height} image")
    across = torch.cat([dx[..., on_x].flatten(), dy[..., on_y, :].flatten()])
    elsewhere = torch.cat([dx[..., ~on_x].flatten(), dy[..., ~on_y, :].flatten()])
    return (across.mean() / elsewhere.mean().clamp_min(1e-12)).item()
