"""Style transfer at high resolution, one tile at a time.

A whole-image transfer at 4000 px needs tens of GiB (optimization.memory). Here the picture is
stylized small, upsampled, and then refined at full size: every step cuts the image into
overlapping tiles and sends one tile at a time through VGG19, so peak memory is one tile's
plus a few full-size image buffers. The tile grid moves by a random offset every step, so no
tile border stays in one place long enough to leave a seam.
"""
from __future__ import annotations

import torch

from ..core.devices import resolve_device
from ..core.images import MIN_SIDE, resize
from ..core.losses import content_loss, gram_matrix, style_loss, tv_loss
from ..core.validation import check_image, check_int, layer_weights
from ..core.vgg import VGG19Features, get_extractor
from ..methods.gatys import DEFAULT, TransferSettings, transfer_with
from ..optimization.loop import Callback, LossFunction, OptimizationResult, optimize
from ..optimization.optimizers import check_lr


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


def tiled_loss(extractor: VGG19Features, content: torch.Tensor, style_grams: dict[str, torch.Tensor],
               content_w: dict[str, float], style_w: dict[str, float], weights: dict[str, float], *, tile: int,
               overlap: int, loss_kind: str, shift_tiles: bool, seed: int) -> LossFunction:
    """loss(image) for `optimize`: one sweep over tiles on a grid moved by a seeded random offset.
    Each tile's content + style loss is backpropagated through a copy of the tile at once (so
    only one tile's activations are alive), its gradient added into the image's, and the loss
    returned detached; TV keeps its graph."""
    height, width = content.shape[-2:]
    needed = list(dict.fromkeys([*content_w, *style_w]))
    generator = torch.Generator().manual_seed(seed)

    def loss(image: torch.Tensor) -> dict[str, torch.Tensor]:
        dy, dx = torch.randint(0, tile - overlap, (2,), generator=generator).tolist() if shift_tiles else (0, 0)
        sums = {"content": torch.zeros((), device=image.device), "style": torch.zeros((), device=image.device)}
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
                if image.grad is None:
                    image.grad = torch.zeros_like(image)
                image.grad[..., y0:y1, x0:x1] += piece.grad
                sums["content"] += c.detach()
                sums["style"] += s.detach()
        return {**sums, "tv": weights["tv_weight"] * tv_loss(image)}
    return loss


def tiled_style_transfer(content: torch.Tensor, style: torch.Tensor, *, base_size: int = 384,
                         tile: int = 256, overlap: int = 32, steps: int = 100, base_steps: int = 300,
                         lr: float = 0.01, shift_tiles: bool = True, settings: TransferSettings = DEFAULT,
                         callback: Callback | None = None, callback_every: int = 10,
                         progress: bool = True) -> OptimizationResult:
    """Paint a large `content` (1, 3, H, W) in [0, 1] in the style of `style` (1, 3, h, w) in [0, 1].

    1. the style transfer (`settings`) on a copy of the content with long side `base_size`,
       `base_steps` steps;
    2. upsample that result to H x W;
    3. `steps` Adam steps (learning rate `lr`) at full size, each one sweep over tiles of `tile`
       pixels overlapping by `overlap`, on a grid moved by a random offset each step (`shift_tiles`;
       seeded by settings.seed). Each tile's content loss compares it with the same tile of the
       content; its style loss uses Gram targets computed once from the style, scaled by the same
       factor as the content (full size / base size), so brush strokes keep their size.
    The layers, loss weights, loss_kind and network of `settings` apply to both passes; its
    optimizer, lr and init to the first.
    callback(step, image, losses) sees both passes' steps, counted from 1 across them. Ctrl-C or
    StopOptimization ends the whole run with the current image (interrupted=True).
    Returns an OptimizationResult: .image at full size, .stages [the base result's image, the
    final image], .history and .steps the refinement's ("total", "content", "style" and "tv",
    weighted, summed over the tiles; the base pass's if it was stopped); .seconds both passes'.
    """
    check_image(content, "content")
    check_image(style, "style")
    base_size = check_int(base_size, "base_size", MIN_SIDE)
    tile = check_int(tile, "tile", MIN_SIDE)
    overlap = check_int(overlap, "overlap", 0)
    if overlap >= tile:
        raise ValueError(f"overlap must be smaller than tile ({tile}), got {overlap}")
    steps = check_int(steps, "steps")
    base_steps = check_int(base_steps, "base_steps")
    lr = check_lr(lr, "adam")
    if not isinstance(settings, TransferSettings):
        raise ValueError(f"settings: expected a TransferSettings, got {type(settings).__name__}")
    content_w = layer_weights(settings.content_layers, "content_layers")
    style_w = layer_weights(settings.style_layers, "style_layers")
    loss_weights = {"content_weight": settings.content_weight, "style_weight": settings.style_weight,
                    "tv_weight": settings.tv_weight}

    height, width = content.shape[-2:]
    small = resize(content, base_size) if max(height, width) > base_size else content
    base = transfer_with(settings, small, style, steps=base_steps, callback=callback, callback_every=callback_every,
                         progress=progress)
    start = resize(base.image, (height, width))
    if base.interrupted:
        return OptimizationResult(start, base.history, base.steps, base.best_loss, base.seconds, True,
                                  base.recoveries, base.messages, stages=[base.image])

    extractor = get_extractor(settings.weights, settings.pooling, str(resolve_device(settings.device)),
                              settings.precision)  # the base pass's network: the same cache key
    scale = max(height, width) / max(small.shape[-2:])
    style_at_scale = resize(style, max(MIN_SIDE, round(max(style.shape[-2:]) * scale)))
    style_grams = tiled_grams(extractor, style_at_scale.to(extractor.device), list(style_w), tile)
    del style_at_scale  # can be as large as the content
    loss = tiled_loss(extractor, content.to(extractor.device), style_grams, content_w, style_w, loss_weights,
                      tile=tile, overlap=overlap, loss_kind=settings.loss_kind, shift_tiles=shift_tiles,
                      seed=settings.seed)

    refined = optimize(loss, start, steps, optimizer="adam", lr=lr, divergence_guard=False, keep="last",
                       callback=callback, callback_every=callback_every, step_offset=base.steps,
                       progress=progress, desc="tiled refinement")
    refined.stages = [base.image, refined.image]
    refined.seconds += base.seconds
    refined.recoveries += base.recoveries
    refined.messages = base.messages + refined.messages
    return refined


def seam_score(image: torch.Tensor, period: int, offset: int = 0) -> float:
    """How much the image jumps across a grid of lines every `period` pixels from `offset`.

    image: (N, C, H, W). The mean absolute difference between neighbouring pixels across the
    grid lines (columns and rows x, y = offset + k * period, the pair (x - 1, x)) divided by
    the same mean over all other neighbouring pairs: about 1.0 means no seams, well above 1
    means visible ones.
    """
    if not isinstance(image, torch.Tensor) or image.dim() != 4:
        raise ValueError(f"image: expected a tensor (N, C, H, W), got {getattr(image, 'shape', type(image))}")
    period = check_int(period, "period", 2)
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
