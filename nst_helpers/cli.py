"""The ``nst-transfer`` command: stylize one image from the shell.

    nst-transfer CONTENT STYLE -o OUT [--size 384 --steps 300 ...]

Exit codes: 0 done, 2 bad input (one line on stderr), 130 interrupted (best image saved).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .core.images import MIN_SIDE, ImageLoadError, load_image, save_image
from .core.weights import WeightsError
from .optimization.optimizers import OPTIMIZERS
from .recipes.colour import preserve_colour
from .recipes.presets import PRESETS, preset_transfer


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nst-transfer", description="Neural style transfer (Gatys et al.) "
                                "with the original VGG19 weights, offline.")
    p.add_argument("content", help="content image file (a photo)")
    p.add_argument("style", help="style image file (a painting)")
    p.add_argument("-o", "--output", required=True, help="where to write the result (.png or .jpg)")
    p.add_argument("--size", type=int, default=384, help="longer side of the result in pixels (default 384)")
    p.add_argument("--steps", type=int, default=300, help="optimization steps (default 300)")
    p.add_argument("--preset", choices=tuple(PRESETS), default="default",
                   help="default: the library's defaults; gatys: the paper (no TV); best: notebook 07's "
                   "recipe (coarse to fine, twice the work)")
    p.add_argument("--keep-colours", action="store_true", help="keep the content photo's colours")
    p.add_argument("--content-weight", type=float, default=None, help="default: the preset's")
    p.add_argument("--style-weight", type=float, default=None, help="default: the library's")
    p.add_argument("--tv-weight", type=float, default=None, help="default: the library's")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=None, help="default: the preset's (lbfgs)")
    p.add_argument("--init", choices=("content", "noise", "style"), default=None, help="default: the preset's (content)")
    p.add_argument("--pooling", choices=("avg", "max"), default=None, help="default: the preset's (avg)")
    p.add_argument("--weights", default="original",
                   help="'original' (bundled, default), 'torchvision', or a weights file path")
    p.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def _fail(message: str) -> int:
    print(f"nst-transfer: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = Path(args.output)
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        return _fail(f"{out}: output must end in .png, .jpg or .jpeg")
    if not out.parent.is_dir():
        return _fail(f"{out}: folder {out.parent} does not exist")
    if args.size < MIN_SIDE:
        return _fail(f"--size must be at least {MIN_SIDE}, got {args.size}")
    if args.steps <= 0:
        return _fail(f"--steps must be positive, got {args.steps}")
    chosen = {"content_weight": args.content_weight, "style_weight": args.style_weight, "tv_weight": args.tv_weight,
              "optimizer": args.optimizer, "init": args.init, "pooling": args.pooling}
    extra = {k: v for k, v in chosen.items() if v is not None}
    try:
        content = load_image(args.content, max_size=args.size)
        style = load_image(args.style, max_size=args.size)
        start = time.perf_counter()
        changes = {"seed": args.seed, "device": args.device, "weights": args.weights, "precision": args.precision,
                   **extra}
        result = preset_transfer(args.preset, content, style, steps=args.steps, changes=changes,
                                 progress=not args.quiet)
        if args.keep_colours:
            result.image = preserve_colour(result.image, content.to(result.image.device))
    except (ImageLoadError, WeightsError, ValueError) as e:
        return _fail(str(e))
    save_image(result.image, out)
    seconds = time.perf_counter() - start
    if result.interrupted:
        print(f"interrupted after {result.steps} steps; saved the best image so far to {out}", file=sys.stderr)
        return 130
    print(f"wrote {out} ({result.image.shape[-1]}x{result.image.shape[-2]}, {result.steps} steps, "
          f"{seconds:.1f} s, final loss {result.best_loss:.4g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
