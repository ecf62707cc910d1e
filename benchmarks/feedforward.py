"""Fast style transfer (Johnson et al.) against optimization (Gatys et al.), on the CPU or a GPU.

    python benchmarks/feedforward.py [--steps N] [--set name=value ...] [--json out.json]

1. Trains a TransformNet on data/photos/ at the notebook's default settings
   (nh.FastTrainingSettings(), DEFAULT_TRAINING_STEPS steps) and times it.
2. Paints the held-out photo (data/content/tubingen.jpg, never trained on) at 256 px with the
   network and with nh.style_transfer (300 L-BFGS steps, the series' default), both with The
   Starry Night at 256 px, and scores both under the fixed fp32 reference (nh.reference_losses).
   Targets: the network's style loss within 3x and content loss within 2x of Gatys'.
3. Times applying the network to a 512 px photo (median of --repeats after a warm-up; target
   under 0.5 s on the CPU) and to 512x512 frames on a GPU when there is one (target 100 fps).
4. Prints the speed-up per image against optimization.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

import nst_helpers as nh
from nst_helpers.methods.fasttrain import DEFAULT_TRAINING_STEPS

ROOT = Path(__file__).resolve().parents[1]


def parse_value(text: str) -> object:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return tuple(text.split(",")) if "," in text else text


def median_seconds(function, repeats: int) -> tuple[float, list[float]]:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=DEFAULT_TRAINING_STEPS, help="training steps")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="change one training setting, e.g. --set style_weight=300 (repeatable)")
    p.add_argument("--photos", default=str(ROOT / "data" / "photos"))
    p.add_argument("--held-out", default=str(ROOT / "data" / "content" / "tubingen.jpg"))
    p.add_argument("--style", default=str(ROOT / "data" / "style" / "starry_night.jpg"))
    p.add_argument("--size", type=int, default=256, help="long side of the comparison (default 256)")
    p.add_argument("--gatys-steps", type=int, default=300)
    p.add_argument("--repeats", type=int, default=5, help="timing repeats for applying (median)")
    p.add_argument("--save", default=None, help="also save the trained network here")
    p.add_argument("--json", default=None, help="write the figures to this file")
    args = p.parse_args(argv)
    changes = dict(item.split("=", 1) for item in args.set)
    settings = nh.FastTrainingSettings().replace(**{k: parse_value(v) for k, v in changes.items()})

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    figures: dict = {"machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
                                f"torch {torch.__version__}, {device}"
                                + (f" ({torch.cuda.get_device_name()})" if device.type == "cuda" else ""),
                     "settings": settings.plain(), "steps": args.steps}
    style = nh.load_image(args.style, max_size=args.size)
    photos = nh.load_photos(args.photos)
    held_out = nh.load_image(args.held_out, max_size=args.size)

    start = time.perf_counter()
    trained = nh.train_feedforward(style, photos, args.steps, settings=settings, progress=False)
    figures["train_seconds"] = round(time.perf_counter() - start, 1)
    figures["skipped"] = len(trained.skipped)
    if args.save:
        nh.save_network(trained.network, args.save, info=trained.info(style=Path(args.style).name))
    network = trained.network.to(device)

    start = time.perf_counter()
    gatys = nh.style_transfer(held_out, style, steps=args.gatys_steps, progress=False)
    gatys_seconds = time.perf_counter() - start
    fast = nh.stylize(network, held_out)
    fast_seconds, _ = median_seconds(lambda: nh.stylize(network, held_out), args.repeats)
    ours, theirs = nh.reference_losses(fast, held_out, style), nh.reference_losses(gatys.image, held_out, style)
    figures["held_out"] = {
        "size": list(held_out.shape[-2:]), "network": ours, "gatys": theirs,
        "style_ratio": ours["style"] / theirs["style"], "content_ratio": ours["content"] / theirs["content"],
        "gatys_seconds": round(gatys_seconds, 2), "network_seconds": round(fast_seconds, 4),
        "speedup": gatys_seconds / fast_seconds,
    }
    big = nh.load_image(args.held_out, max_size=512)
    seconds_512, runs_512 = median_seconds(lambda: nh.stylize(network, big), args.repeats)
    figures["apply_512"] = {"size": list(big.shape[-2:]), "median_seconds": round(seconds_512, 4),
                            "runs": [round(t, 4) for t in runs_512]}
    if device.type == "cuda":
        frames = torch.rand(1, 3, 512, 512, device=device)

        def frame() -> None:
            nh.stylize(network, frames)
            torch.cuda.synchronize()
        seconds, _ = median_seconds(frame, max(args.repeats, 20))
        figures["gpu_fps_512"] = round(1 / seconds, 1)

    h = figures["held_out"]
    print(f"machine: {figures['machine']}")
    print(f"training: {args.steps} steps in {figures['train_seconds']:.0f} s ({figures['skipped']} skipped); "
          f"settings {changes or 'default'}")
    print(f"held-out {h['size'][1]}x{h['size'][0]}: network style {ours['style']:.4f} content {ours['content']:.4f}; "
          f"Gatys style {theirs['style']:.4f} content {theirs['content']:.4f}; ratios style "
          f"{h['style_ratio']:.2f}x (target <= 3) content {h['content_ratio']:.2f}x (target <= 2)")
    print(f"per image at {h['size'][1]}x{h['size'][0]}: Gatys {h['gatys_seconds']:.1f} s, network "
          f"{h['network_seconds']:.3f} s: {h['speedup']:.0f}x faster")
    print(f"applying at {big.shape[-1]}x{big.shape[-2]}: median {seconds_512:.3f} s (target < 0.5 s)")
    if "gpu_fps_512" in figures:
        print(f"GPU, 512x512: {figures['gpu_fps_512']} frames per second (target >= 100)")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return figures


if __name__ == "__main__":
    main()
    sys.exit(0)
