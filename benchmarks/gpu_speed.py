"""GPU figures: 500 L-BFGS steps at 512 px, memory at 1024/2048/4096 px, the largest size that fits.

    python benchmarks/gpu_speed.py [--repeats 3] [--steps 500] [--json out.json]

In one process on one CUDA device:

1. Speed. `style_transfer` on Tübingen x The Starry Night, long side 512, for each precision
   (bf16 = the default on GPUs with bf16, tf32, fp32 with TF32 off). One warm-up call, then
   `repeats` timed calls of `steps` steps and of 50 steps (interleaved). Reported: the median
   wall time of the whole call (targets and start image included, weights already cached) and
   the per-step time (difference of the two medians / difference of steps). The final images
   are evaluated with one fp32 model so the losses compare across precisions.
2. Memory. For long sides 1024, 2048, 4096: 55 L-BFGS steps (the 50-step history is full), bf16;
   peak `torch.cuda.max_memory_allocated` against `estimate_transfer_memory`.
3. Largest size. `largest_long_side` from the estimate and the free memory, then a real 55-step
   run at that size to show it fits, and the refusal message one size step above it.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nst_helpers as nh  # noqa: E402
from nst_helpers.optimization.memory import available_memory, estimate_transfer_memory, largest_long_side, scaled_size  # noqa: E402
from nst_helpers.methods.gatys import GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS, layer_weights  # noqa: E402

CONTENT = ROOT / "data" / "content" / "tubingen.jpg"
STYLE = ROOT / "data" / "style" / "starry_night.jpg"
LAYERS = list(dict.fromkeys([*GATYS_CONTENT_LAYERS, *GATYS_STYLE_LAYERS]))
MiB = 2 ** 20


def images(long_side: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Content and style, each resized (up or down) to this long side."""
    out = []
    for path in (CONTENT, STYLE):
        image = nh.load_image(path)
        out.append(nh.resize(image, scaled_size(*image.shape[-2:], long_side)))
    return out[0], out[1]


def set_precision(name: str) -> str:
    """bf16 / tf32 / fp32 -> the `precision` argument, with TF32 matmuls on or off."""
    torch.backends.cuda.matmul.allow_tf32 = name == "tf32"
    torch.backends.cudnn.allow_tf32 = name == "tf32"
    return "bf16" if name == "bf16" else "fp32"


def timed_transfer(content, style, steps: int, precision: str, **kw) -> tuple[float, torch.Tensor]:
    torch.cuda.synchronize()
    start = time.perf_counter()
    result = nh.style_transfer(content, style, steps=steps, precision=precision, device="cuda",
                               progress=False, **kw)
    torch.cuda.synchronize()
    return time.perf_counter() - start, result.image


def fp32_losses(content, style, image) -> dict[str, float]:
    """The three weighted losses of `image`, computed by one fp32 model (TF32 off)."""
    set_precision("fp32")
    ex = nh.get_extractor(device="cuda", precision="fp32")
    content, style, image = (t.to("cuda") for t in (content, style, image))
    with torch.no_grad():
        c_t = ex.features(content, GATYS_CONTENT_LAYERS)
        s_t = {k: nh.gram_matrix(v) for k, v in ex.features(style, GATYS_STYLE_LAYERS).items()}
        f = ex.features(image, LAYERS)
        cw, sw = layer_weights(GATYS_CONTENT_LAYERS, "c"), layer_weights(GATYS_STYLE_LAYERS, "s")
        return {"content": float(nh.content_loss(f, c_t, cw)), "style": 100.0 * float(nh.style_loss(f, s_t, sw)),
                "tv": 3e4 * float(nh.tv_loss(image))}


def speed(repeats: int, steps: int) -> dict:
    content, style = images(512)
    out = {"size": list(content.shape[-2:])}
    for name in ("bf16", "tf32", "fp32"):
        precision = set_precision(name)
        timed_transfer(content, style, 20, precision)  # warm-up: cuDNN autotuning, weights cache
        long_runs, short_runs = [], []
        for _ in range(repeats):
            t, image = timed_transfer(content, style, steps, precision)
            long_runs.append(t)
            short_runs.append(timed_transfer(content, style, 50, precision)[0])
        per_step = (statistics.median(long_runs) - statistics.median(short_runs)) / (steps - 50)
        out[name] = {"whole_call_s": long_runs, "median_s": statistics.median(long_runs),
                     "short_call_s": short_runs, "s_per_step": per_step,
                     "fp32_losses": fp32_losses(content, style, image.cpu())}
        print(name, json.dumps(out[name]), flush=True)
    return out


def memory_at(long_side: int, steps: int = 55) -> dict:
    content, style = images(long_side)
    h, w = content.shape[-2:]
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    t, _ = timed_transfer(content, style, steps, set_precision("bf16"))
    peak = torch.cuda.max_memory_allocated() - base
    est = estimate_transfer_memory(h, w, LAYERS, precision="bf16", optimizer="lbfgs", style_size=(h, w))
    row = {"long_side": long_side, "size": [w, h], "peak_allocated_MiB": peak / MiB,
           "peak_reserved_MiB": torch.cuda.max_memory_reserved() / MiB, "estimate_MiB": est / MiB,
           "estimate_over_peak": est / peak, "seconds": t, "steps": steps}
    print("memory", json.dumps(row), flush=True)
    return row


def largest() -> dict:
    content, _ = images(512)
    h, w = content.shape[-2:]
    torch.cuda.empty_cache()
    free = available_memory(torch.device("cuda"))
    side = largest_long_side(*scaled_size(h, w, 16384), LAYERS, free, precision="bf16", optimizer="lbfgs")
    row = {"free_MiB": free / MiB, "largest_long_side_estimated": side}
    print("largest", json.dumps(row), flush=True)
    row["run"] = memory_at(side)
    try:
        big = torch.zeros(1, 3, round(side * 1.1 * h / w), round(side * 1.1))
        nh.style_transfer(big, big, steps=1, device="cuda", progress=False)
        row["refusal"] = None
    except nh.MemoryEstimateError as e:
        row["refusal"] = str(e)
    print("refusal", row["refusal"], flush=True)
    return row


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--sizes", type=int, nargs="*", default=[1024, 2048, 4096])
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--skip-largest", action="store_true")
    args = p.parse_args()
    if not torch.cuda.is_available():
        sys.exit("gpu_speed.py: no CUDA device here")
    props = torch.cuda.get_device_properties(0)
    report = {"device": props.name, "memory_MiB": props.total_memory / MiB, "torch": torch.__version__}
    print(json.dumps(report), flush=True)
    report["speed"] = speed(args.repeats, args.steps)
    report["memory"] = [memory_at(s) for s in args.sizes]
    if not args.skip_largest:
        report["largest"] = largest()
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
