"""What grading produces: one Row per exercise of each submission, and the CSV of them."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import NamedTuple

ROW_FIELDS = ("student", "notebook", "exercise", "points", "max_points", "status", "message")
STATUSES = ("passed", "failed", "missing", "tampered", "timeout", "crashed", "error")


class Row(NamedTuple):
    """One exercise of one submission. status is one of STATUSES; message ends with the mode,
    "[sandbox]" or "[no sandbox]", where the exercise was graded."""
    student: str
    notebook: str
    exercise: str
    points: float
    max_points: float
    status: str
    message: str


def write_csv(rows: list[Row], out_csv: str | Path) -> None:
    """CSV with the header ROW_FIELDS, one line per row."""
    with open(out_csv, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(ROW_FIELDS)
        writer.writerows(rows)
