"""How long each notebook takes to execute in quick mode (NST_QUICK=1), as CI runs it.

Usage: python benchmarks/notebook_times.py [notebooks/0*.ipynb ...]
Each notebook runs in a fresh kernel with nbclient, in the notebooks folder, without
saving; wall time includes the kernel start and the VGG19 weight load.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def run(path: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main(argv: list[str]) -> None:
    os.environ["NST_QUICK"] = "1"
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    paths = [Path(p) for p in argv] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    times = {}
    for path in paths:
        times[path.name] = run(path)
        print(f"{path.name:<40} {times[path.name]:6.1f} s", flush=True)
    print(f"{'total':<40} {sum(times.values()):6.1f} s  (median per notebook {statistics.median(times.values()):.1f} s, "
          f"{os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main(sys.argv[1:])
