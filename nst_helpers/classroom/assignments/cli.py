"""The `nst-classroom` command (also `python -m nst_helpers.assignments`): build, check, grade."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .grading import grade, summary
from .nbgrader_cells import mark_folder, unmarked_notebooks
from .session import Limits
from .student_versions import build, out_of_date

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nst-classroom",
                                description="Student versions of the notebooks, and grading of submissions.")
    sub = p.add_subparsers(dest="command", required=True)
    for name, text in (("build", "mark the sources for nbgrader and write the student notebooks"),
                       ("check", "exit 1 if the student notebooks are not up to date")):
        s = sub.add_parser(name, help=text)
        s.add_argument("--source", default="notebooks", help="folder of source notebooks (default notebooks)")
        s.add_argument("--out", default="assignments", help="folder of student notebooks (default assignments)")
    g = sub.add_parser("grade", help="grade submitted notebooks in a sandbox and write a CSV, one row per exercise")
    g.add_argument("submissions", help="folder with the submitted *.ipynb files (or one subfolder per student)")
    g.add_argument("--out", required=True, help="CSV file to write")
    g.add_argument("--feedback", default=None, help="folder for each submission's feedback and the class summary "
                                                    "(default: beside the CSV, <name>_feedback/)")
    g.add_argument("--source", default=None, help="folder of the teacher's source notebooks (default: notebooks/)")
    g.add_argument("--assignment", default=None, help="NN or NN_name: the notebook every submission answers "
                                                      "(default: from each one's metadata or file name)")
    g.add_argument("--no-sandbox", action="store_true",
                   help="run submissions without isolation, as you (only when bubblewrap is not available)")
    g.add_argument("--timeout", type=float, default=120, help="seconds per cell (default 120)")
    g.add_argument("--call-timeout", type=float, default=30, help="seconds per call of a student's function (default 30)")
    g.add_argument("--notebook-timeout", type=float, default=600, help="seconds per submission (default 600)")
    g.add_argument("--full", action="store_true", help="full mode (default: quick mode, NST_QUICK=1)")
    g.add_argument("--memory-limit-gb", type=float, default=8.0, help="data-memory cap, 0 = none (default 8)")
    return p


def _fail(message: str) -> int:
    print(f"assignments: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "build":
            marked = mark_folder(args.source)
            if marked:
                print(f"wrote nbgrader's cell metadata into {len(marked)} source notebook(s)")
            paths = build(args.source, args.out)
            print(f"wrote {len(paths)} student notebook(s) to {args.out}")
        elif args.command == "check":
            problems = out_of_date(args.source, args.out)
            for name in unmarked_notebooks(args.source):
                problems[name] = f"{problems[name]}, no nbgrader metadata" if name in problems else "no nbgrader metadata"
            if problems:
                print(f"student notebooks in {args.out} or their sources are not up to date "
                      f"(run: nst-classroom build):")
                for name, what in problems.items():
                    print(f"  {name} ({what})")
                return 1
            print(f"student notebooks in {args.out} are up to date")
        else:
            out = Path(args.out)
            if not out.parent.is_dir():
                return _fail(f"{out}: folder {out.parent} does not exist")
            for name in ("timeout", "call_timeout", "notebook_timeout"):
                if not getattr(args, name) > 0:
                    return _fail(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
            if args.memory_limit_gb < 0:
                return _fail(f"--memory-limit-gb must be 0 (no cap) or positive, got {args.memory_limit_gb}")
            feedback = Path(args.feedback) if args.feedback else out.parent / f"{out.stem}_feedback"
            limits = Limits(cell_s=args.timeout, call_s=args.call_timeout, notebook_s=args.notebook_timeout,
                            memory_gb=args.memory_limit_gb or None)
            rows = grade(args.submissions, out, source_dir=args.source, assignment=args.assignment,
                         sandboxed=not args.no_sandbox, quick=not args.full, limits=limits,
                         feedback_dir=feedback,
                         log=lambda line: print(line, file=sys.stderr))
            print(summary(rows))
            print(f"wrote {out} ({len(rows)} rows) and the feedback to {feedback}")
    except (OSError, ValueError) as e:
        return _fail(str(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
