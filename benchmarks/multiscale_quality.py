"""Quality per second: does coarse-to-fine reach the single-size loss sooner?

Usage: python benchmarks/multiscale_quality.py [--size 512] [--steps 200] [--init content|noise]
Single size: `steps` L-BFGS steps at `size`; its final total loss is the target.
Multi-scale: 150 steps at size/4, 100 at size/2, then up to `steps` at `size`, starting each
from the last result. Both losses are the same objective at `size` (same images, same
weights), so they compare directly. Prints the wall time each needs to reach the target.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import nst_helpers as nh
from nst_helpers.recipes.multiscale import multiscale_transfer

ROOT = Path(__file__).resolve().parents[1]


def timed_losses():
    """A callback that records (seconds since creation, total loss, image width) at every step."""
    start, trace = time.perf_counter(), []

    def callback(step, image, losses):
        trace.append((time.perf_counter() - start, losses["total"], image.shape[-1]))
    return callback, trace


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--init", default="content", choices=["content", "noise"])
    args = parser.parse_args()
    content = nh.load_image(ROOT / "data/content/tubingen.jpg", max_size=args.size)
    style = nh.load_image(ROOT / "data/style/starry_night.jpg", max_size=args.size)
    nh.get_extractor()  # load the weights before any clock starts
    common = dict(seed=0, progress=False, callback_every=1, init=args.init)

    callback, single = timed_losses()
    nh.style_transfer(content, style, steps=args.steps, callback=callback, **common)
    single_time, target, _ = single[-1]

    callback, multi = timed_losses()
    sizes = (args.size // 4, args.size // 2, args.size)
    result = multiscale_transfer(content, style, sizes=sizes, steps=(150, 100, args.steps), callback=callback,
                                 callback_every=1, progress=False, settings=nh.TransferSettings(init=args.init))
    final_stage = [(t, loss) for t, loss, width in multi if width == content.shape[-1]]
    coarse_time = final_stage[0][0] if final_stage else float("nan")

    print(f"content {tuple(content.shape[-2:])}, device {nh.get_extractor().device}, "
          f"precision {nh.get_extractor().precision}")
    print(f"single size: {args.steps} steps in {single_time:.1f} s, final total loss {target:.4g}")
    print(f"multi-scale {sizes}: coarse stages took {coarse_time:.1f} s; "
          f"final-size loss after {args.steps} steps {final_stage[-1][1]:.4g} ({result.seconds:.1f} s in all)")
    print(f"init {args.init}; seconds to get within a factor of the single-size final loss:")
    for factor in (1.5, 1.2, 1.1, 1.05, 1.02, 1.0):
        t_single = next((t for t, loss, _ in single if loss <= factor * target), None)
        t_multi = next((t for t, loss in final_stage if loss <= factor * target), None)
        ratio = f"{t_single / t_multi:.2f}x" if t_single and t_multi else "-"
        print(f"  {factor:>4}x: single {t_single or float('nan'):6.1f} s, multi-scale "
              f"{t_multi or float('nan'):6.1f} s, single/multi {ratio}")


if __name__ == "__main__":
    main()
