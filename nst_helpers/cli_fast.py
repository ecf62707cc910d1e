"""The ``nst-fast`` command: train a feed-forward style network, then paint photos in one pass.

    nst-fast train STYLE --photos DIR -o net.pt [--steps N] [--size PX] [--batch-size B]
    nst-fast apply net.pt PHOTO -o OUT [--size PX]

Exit codes: 0 done, 2 bad input (one line on stderr), 130 interrupted (train: the weights so
far are saved).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .core.devices import resolve_device
from .core.images import ImageLoadError, load_image, save_image
from .core.weights import WeightsError
from .methods.fasttrain import DEFAULT_TRAINING_STEPS, TRAINING_DEFAULT, train_feedforward
from .methods.feedforward import NORMS, UPSAMPLES, NetworkFileError, load_network, save_network, stylize
from .methods.photos import MIN_PHOTO_SIDE, load_photos

PROG = "nst-fast"
#: Fewer training photos than this draws a warning (the network sees little variety).
FEW_PHOTOS = 10
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Fast style transfer (Johnson et al.): train a network "
                                "for one painting, then stylize any photo in one forward pass.")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a network for one painting on a folder of photos")
    t.add_argument("style", help="the painting (an image file)")
    t.add_argument("--photos", required=True,
                   help="folder of training photos (any number from one; ten or more is better)")
    t.add_argument("-o", "--output", required=True, help="where to write the trained network (e.g. net.pt)")
    t.add_argument("--steps", type=int, default=DEFAULT_TRAINING_STEPS,
                   help=f"training steps (default {DEFAULT_TRAINING_STEPS})")
    t.add_argument("--size", type=int, default=TRAINING_DEFAULT.photo_size,
                   help="long side the photos and the painting are shrunk to: the scale you will use the network "
                   f"at (default {TRAINING_DEFAULT.photo_size})")
    t.add_argument("--batch-size", type=int, default=TRAINING_DEFAULT.batch_size,
                   help=f"random crops per step (default {TRAINING_DEFAULT.batch_size})")
    t.add_argument("--crop", type=int, default=None,
                   help=f"side of the square crops (default {TRAINING_DEFAULT.crop}, or --size if smaller)")
    t.add_argument("--style-weight", type=float, default=TRAINING_DEFAULT.style_weight)
    t.add_argument("--content-weight", type=float, default=TRAINING_DEFAULT.content_weight)
    t.add_argument("--tv-weight", type=float, default=TRAINING_DEFAULT.tv_weight)
    t.add_argument("--lr", type=float, default=TRAINING_DEFAULT.lr, help="Adam's learning rate")
    t.add_argument("--norm", choices=NORMS, default=TRAINING_DEFAULT.norm)
    t.add_argument("--upsample", choices=UPSAMPLES, default=TRAINING_DEFAULT.upsample)
    t.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    a = sub.add_parser("apply", help="paint a photo with a trained network")
    a.add_argument("network", help="a network file written by nst-fast train")
    a.add_argument("photo", help="the photo to paint")
    a.add_argument("-o", "--output", required=True, help="where to write the result (.png or .jpg)")
    a.add_argument("--size", type=int, default=None,
                   help="shrink the photo to this long side first (default: as it is)")
    a.add_argument("--device", default="cpu", help="cpu, cuda or mps (default cpu)")
    return p


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def _check_output_folder(out: Path) -> str | None:
    return None if out.parent.is_dir() else f"{out}: folder {out.parent} does not exist"


def train(args: argparse.Namespace) -> int:
    out = Path(args.output)
    for problem in (_check_output_folder(out),
                    None if args.steps > 0 else f"--steps must be positive, got {args.steps}",
                    None if args.size >= MIN_PHOTO_SIDE else
                    f"--size must be at least {MIN_PHOTO_SIDE}, got {args.size}",
                    None if args.batch_size > 0 else f"--batch-size must be positive, got {args.batch_size}"):
        if problem:
            return _fail(problem)
    crop = args.crop if args.crop is not None else min(TRAINING_DEFAULT.crop, args.size)
    try:
        settings = TRAINING_DEFAULT.replace(
            photo_size=args.size, style_size=args.size, crop=crop, batch_size=args.batch_size,
            style_weight=args.style_weight, content_weight=args.content_weight, tv_weight=args.tv_weight,
            lr=args.lr, norm=args.norm, upsample=args.upsample, device=args.device, seed=args.seed)
        style = load_image(args.style, max_size=args.size)
        photos = load_photos(args.photos)
    except (ImageLoadError, WeightsError, ValueError) as e:
        return _fail(str(e))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted before training began; nothing written", file=sys.stderr)
        return 130
    if len(photos) < FEW_PHOTOS:
        print(f"{PROG}: warning: only {len(photos)} training photo{'s' if len(photos) > 1 else ''}; with fewer "
              f"than {FEW_PHOTOS} the network sees little variety and may not carry over to new photos",
              file=sys.stderr)
    try:
        result = train_feedforward(style, photos, args.steps, settings=settings, progress=not args.quiet)
    except (ImageLoadError, WeightsError, ValueError) as e:
        return _fail(str(e))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted before the first step; nothing written", file=sys.stderr)
        return 130
    save_network(result.network, out, info=result.info(style=Path(args.style).name, photos=len(photos)))
    for message in result.messages:
        print(f"{PROG}: {message}", file=sys.stderr)
    if result.interrupted:
        print(f"{PROG}: interrupted after {result.steps} steps; saved the weights so far to {out}", file=sys.stderr)
        return 130
    final = result.history["total"][-1] if result.history.get("total") else float("nan")
    print(f"wrote {out} ({result.steps} steps on {len(photos)} photos, {result.seconds:.1f} s, "
          f"final loss {final:.4g})")
    return 0


def apply(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.suffix.lower() not in IMAGE_SUFFIXES:
        return _fail(f"{out}: output must end in .png, .jpg or .jpeg")
    problem = _check_output_folder(out)
    if problem:
        return _fail(problem)
    if args.size is not None and args.size < MIN_PHOTO_SIDE:
        return _fail(f"--size must be at least {MIN_PHOTO_SIDE}, got {args.size}")
    try:
        network = load_network(args.network, resolve_device(args.device))
        photo = load_image(args.photo, max_size=args.size)
        start = time.perf_counter()
        image = stylize(network, photo)
        seconds = time.perf_counter() - start
    except (NetworkFileError, ImageLoadError, ValueError) as e:
        return _fail(str(e))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; nothing written", file=sys.stderr)
        return 130
    save_image(image, out)
    print(f"wrote {out} ({image.shape[-1]}x{image.shape[-2]}, {seconds:.2f} s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return train(args) if args.command == "train" else apply(args)


if __name__ == "__main__":
    sys.exit(main())
