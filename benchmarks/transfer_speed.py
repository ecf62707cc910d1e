"""Seconds per optimization step: nst_helpers (fp32 and the fast path) next to the pastiche CLI.

    python benchmarks/transfer_speed.py [--size 256] [--repeats 3] [--device cpu]

Every configuration runs as a fresh process, twice: with few and with many steps. The
difference in wall time divided by the difference in steps is the time per step, so start-up
(imports, loading weights) cancels out, the same way for every contender. Runs are interleaved
and repeated; medians are reported, and ratios are taken within this one run.
Also printed: the FLOP floor of one step on this machine (from a measured conv rate), peak
memory, and the fp32-evaluated final losses of the fp32 and fast runs at equal steps.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "data" / "content" / "tubingen.jpg"
STYLE = ROOT / "data" / "style" / "starry_night.jpg"
STYLE_LAYERS_DEPTH = "conv5_1"


def run_process(cmd: list[str]) -> tuple[float, float]:
    """Run cmd; return (wall seconds, peak RSS in MiB of that process)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{err[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def ours(size: int, steps: int, precision: str, device: str, out: Path) -> list[str]:
    return [sys.executable, "-m", "nst_helpers.cli", str(CONTENT), str(STYLE), "-o", str(out), "--size", str(size),
            "--steps", str(steps), "--precision", precision, "--device", device, "--quiet"]


def pastiche(size: int, steps: int, precision: str, device: str, out: Path) -> list[str]:
    return [sys.executable, "-m", "pastiche", "--content", str(CONTENT), "--styles", str(STYLE), "-o", str(out),
            "--size", str(size), "--num-steps", str(steps), "--device", device, "--no-verbose"]


def vgg_gflop(height: int, width: int, deepest: str = STYLE_LAYERS_DEPTH) -> float:
    """Forward GFLOP of VGG19's convolutions up to `deepest` (2 FLOP per multiply-add)."""
    from nst_helpers.core.weights import CONV_LAYERS
    total, h, w = 0.0, height, width
    for name, c_in, c_out in CONV_LAYERS:
        total += 2 * c_in * c_out * 9 * h * w
        if name == deepest:
            break
        if name in ("conv1_2", "conv2_2", "conv3_4", "conv4_4"):
            h, w = h // 2, w // 2
    return total / 1e9


def conv_rate(dtype: torch.dtype, device: str) -> float:
    """Measured GFLOP/s of a 3x3 conv, 256 -> 256 channels on 64x64, the bulk of VGG's work."""
    conv = torch.nn.Conv2d(256, 256, 3, padding=1).to(device)
    x = torch.randn(1, 256, 64, 64, device=device)
    flop = 2 * 256 * 256 * 9 * 64 * 64
    ctx = torch.autocast(device, dtype=dtype) if dtype != torch.float32 else torch.autocast(device, enabled=False)
    with torch.no_grad(), ctx:
        for _ in range(3):
            conv(x)
        times = []
        for _ in range(10):
            start = time.perf_counter()
            conv(x)
            if device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    return flop / statistics.median(times) / 1e9


def final_losses(image_path: Path, size: int) -> dict[str, float]:
    """Content, style and TV loss of a result image, evaluated in fp32 with the default weights."""
    import nst_helpers as nh
    from nst_helpers.core.losses import content_loss, gram_matrix, style_loss, tv_loss
    vgg = nh.VGG19Features(device="cpu", precision="fp32")
    content = nh.load_image(CONTENT, size)
    style = nh.load_image(STYLE, size)
    image = nh.load_image(image_path)
    layers = list(nh.GATYS_STYLE_LAYERS)
    with torch.no_grad():
        f = vgg.features(image, layers + list(nh.GATYS_CONTENT_LAYERS))
        c = vgg.features(content, nh.GATYS_CONTENT_LAYERS)
        s = {k: gram_matrix(v) for k, v in vgg.features(style, layers).items()}
        return {"content": content_loss(f, c).item(), "style": style_loss(f, s).item(), "tv": tv_loss(image).item()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--few", type=int, default=5)
    ap.add_argument("--many", type=int, default=45)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()

    contenders = {"ours fp32": (ours, "fp32"), "ours fast (auto)": (ours, "auto"), "pastiche": (pastiche, "fp32")}
    per_step: dict[str, list[float]] = {k: [] for k in contenders}
    peak: dict[str, float] = {k: 0.0 for k in contenders}
    tmp = Path(tempfile.mkdtemp(prefix="nst-bench-"))
    for r in range(args.repeats):
        for name, (make, precision) in contenders.items():
            slug = name.split()[0] + "-" + precision
            walls = {}
            for steps in (args.few, args.many):
                out = tmp / f"{slug}-{steps}.png"
                walls[steps], rss = run_process(make(args.size, steps, precision, args.device, out))
                peak[name] = max(peak[name], rss)
            per_step[name].append((walls[args.many] - walls[args.few]) / (args.many - args.few))
            print(f"repeat {r + 1}: {name:18s} {per_step[name][-1]:.3f} s/step", flush=True)

    from nst_helpers.core.devices import cpu_has_fast_bf16
    from nst_helpers.core.images import load_image
    h, w = load_image(CONTENT, args.size).shape[-2:]
    gflop_step = 2 * vgg_gflop(h, w)  # forward + gradient w.r.t. the image
    rate32 = conv_rate(torch.float32, args.device)
    rate16 = conv_rate(torch.bfloat16, args.device) if (args.device != "cpu" or cpu_has_fast_bf16()) else rate32
    med = {k: statistics.median(v) for k, v in per_step.items()}

    print(f"\n{args.device}, {w}x{h} px, {args.repeats} repeats, steps {args.few} vs {args.many}, torch {torch.__version__}")
    print(f"{'contender':20s} {'s/step (median)':>16s} {'all runs':>24s} {'peak RSS MiB':>13s}")
    for k in contenders:
        runs = ", ".join(f"{v:.3f}" for v in per_step[k])
        print(f"{k:20s} {med[k]:16.3f} {runs:>24s} {peak[k]:13.0f}")
    print(f"\nVGG19 to {STYLE_LAYERS_DEPTH}: {gflop_step / 2:.1f} GFLOP forward, {gflop_step:.1f} per step")
    print(f"measured 3x3 conv rate: fp32 {rate32:.0f} GFLOP/s, bf16 {rate16:.0f} GFLOP/s")
    print(f"floor per step: fp32 {gflop_step / rate32:.3f} s, bf16 {gflop_step / rate16:.3f} s")
    print(f"ratios: pastiche / ours fp32 = {med['pastiche'] / med['ours fp32']:.2f}x, "
          f"pastiche / ours fast = {med['pastiche'] / med['ours fast (auto)']:.2f}x, "
          f"ours fp32 / ours fast = {med['ours fp32'] / med['ours fast (auto)']:.2f}x, "
          f"ours fast / bf16 floor = {med['ours fast (auto)'] / (gflop_step / rate16):.2f}x")
    fp32 = final_losses(tmp / f"ours-fp32-{args.many}.png", args.size)
    fast = final_losses(tmp / f"ours-auto-{args.many}.png", args.size)
    print(f"final losses after {args.many} steps, evaluated in fp32 (fast / fp32): " +
          ", ".join(f"{k} {fast[k]:.4g} / {fp32[k]:.4g} = {fast[k] / fp32[k]:.3f}" for k in fp32))
    print(json.dumps({"device": args.device, "size": [w, h], "s_per_step": med, "peak_rss_mib": peak,
                      "losses_fp32_eval": {"fp32": fp32, "fast": fast}}))


if __name__ == "__main__":
    main()
