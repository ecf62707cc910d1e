"""How long grading a class takes: N submissions of one notebook, sandboxed, quick mode.

    python benchmarks/grading_speed.py --notebook 04_gram_matrices --students 30

A third of the submissions hand in the reference answers, a third a wrong answer (every solution
region replaced by `return None`), a third the untouched student version. Prints the wall time,
the time per submission and the statuses; the figures go in benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import collections
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nst_helpers.classroom import assignments as asg  # noqa: E402
from nst_helpers.classroom.assignments import sandbox  # noqa: E402

SOLUTION = re.compile(r"^(\s*)#+\s*BEGIN SOLUTION\s*$.*?^\s*#+\s*END SOLUTION\s*$", re.M | re.S)


def submissions(notebook: str, count: int, folder: Path) -> None:
    source = nbformat.read(ROOT / "notebooks" / f"{notebook}.ipynb", as_version=4)
    student = asg.make_student_version(source, notebook)
    exercise_ids = {c.id for c in source.cells if asg.student_versions.is_exercise_cell(c)}
    for n in range(count):
        nb = nbformat.from_dict(student)
        kind = ("correct", "wrong", "untouched")[n % 3]
        for cell in nb.cells:
            if cell.id in exercise_ids and kind != "untouched":
                original = next(c for c in source.cells if c.id == cell.id).source
                cell.source = original if kind == "correct" else SOLUTION.sub(r"\1return None", original)
        nbformat.write(nb, folder / f"student{n:02d}_{kind}.ipynb")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", default="04_gram_matrices")
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--no-sandbox", action="store_true")
    args = parser.parse_args()
    if not args.no_sandbox and sandbox.availability():
        parser.error(sandbox.availability())
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp) / "submissions"
        folder.mkdir()
        submissions(args.notebook, args.students, folder)
        start = time.perf_counter()
        rows = asg.grade(folder, Path(temp) / "grades.csv", sandboxed=not args.no_sandbox)
        seconds = time.perf_counter() - start
    statuses = collections.Counter((row.student.split("_")[1], row.status) for row in rows)
    print(f"{args.notebook}: {args.students} submissions, {len(rows)} rows, "
          f"{'no sandbox' if args.no_sandbox else 'sandbox'}: {seconds:.1f} s "
          f"({seconds / args.students:.2f} s per submission)")
    for (kind, status), n in sorted(statuses.items()):
        print(f"  {kind:9s} -> {status}: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
