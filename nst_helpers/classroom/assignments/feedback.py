"""What grading hands back: a Markdown file per submission (each exercise's status, points, the
check's full diagnosis and the figure it draws), and a class summary (per exercise: how many
passed, the most common diagnoses) as a Markdown table and a bar chart."""
from __future__ import annotations

import collections
import re
from pathlib import Path
from typing import Sequence

from .results import Row

_MODE = re.compile(r" \[(no )?sandbox\]$")


def safe_name(text: str) -> str:
    """`text` as a file-name part: letters, digits, '-', '_' and '.' only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "unnamed"


def diagnosis(row: Row) -> str:
    """The row's message without the grading mode at its end."""
    return _MODE.sub("", row.message)


def _points(value: float) -> str:
    return f"{value:g}"


def feedback_markdown(rows: Sequence[Row], figures: dict[str, str] | None = None) -> str:
    """One submission's feedback (rows: its rows, one per exercise). figures: exercise -> PNG file
    name (beside the Markdown file) of what its check drew."""
    figures = figures or {}
    student, notebook = rows[0].student, rows[0].notebook
    lines = [f"# {notebook}: feedback for {student}", "",
             "| exercise | status | points |", "|---|---|---|"]
    lines += [f"| {r.exercise} | {r.status} | {_points(r.points)}/{_points(r.max_points)} |" for r in rows]
    total, most = sum(r.points for r in rows), sum(r.max_points for r in rows)
    lines += ["", f"**Total: {_points(total)}/{_points(most)}**"]
    for r in rows:
        lines += ["", f"## {r.exercise}: {r.status} ({_points(r.points)}/{_points(r.max_points)})", "",
                  diagnosis(r)]
        if r.exercise in figures:
            lines += ["", f"![what the check drew for {r.exercise}]({figures[r.exercise]})"]
    return "\n".join(lines) + "\n"


def write_feedback(rows: Sequence[Row], folder: Path, figures: dict[tuple[str, str, str], bytes]) -> list[Path]:
    """Write <student>_<notebook>.md (and its PNGs) for every submission in `rows` into `folder`.
    figures: (student, notebook, exercise) -> PNG bytes. Returns the Markdown files written."""
    folder.mkdir(parents=True, exist_ok=True)
    per: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        per.setdefault((row.student, row.notebook), []).append(row)
    written = []
    for (student, notebook), found in per.items():
        stem = f"{safe_name(student)}_{safe_name(notebook)}"
        names = {}
        for row in found:
            png = figures.get((student, notebook, row.exercise))
            if png is not None:
                names[row.exercise] = f"{stem}_{safe_name(row.exercise)}.png"
                (folder / names[row.exercise]).write_bytes(png)
        path = folder / f"{stem}.md"
        path.write_text(feedback_markdown(found, names), encoding="utf-8")
        written.append(path)
    return written


def class_summary(rows: Sequence[Row], top: int = 3) -> list[dict]:
    """Per (notebook, exercise), in order of first appearance: submissions, passed, and the `top`
    most common diagnoses of the others with their counts. Rows about whole notebooks are left out."""
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        if row.exercise != "(notebook)":
            groups.setdefault((row.notebook, row.exercise), []).append(row)
    table = []
    for (notebook, exercise), found in groups.items():
        problems = collections.Counter(f"{r.status}: {diagnosis(r)}" for r in found if r.status != "passed")
        table.append({"notebook": notebook, "exercise": exercise, "submissions": len(found),
                      "passed": sum(r.status == "passed" for r in found), "common": problems.most_common(top)})
    return table


def summary_markdown(table: Sequence[dict]) -> str:
    lines = ["# Class summary", "", "| notebook | exercise | passed | most common problems |", "|---|---|---|---|"]
    for entry in table:
        common = "<br>".join(f"{n}x {text.replace('|', '/')}" for text, n in entry["common"]) or "-"
        lines.append(f"| {entry['notebook']} | {entry['exercise']} | {entry['passed']}/{entry['submissions']} "
                     f"| {common} |")
    return "\n".join(lines) + "\n"


def summary_chart(table: Sequence[dict], path: Path) -> None:
    """A horizontal bar chart (PNG): the share of submissions that passed each exercise."""
    from matplotlib.figure import Figure

    labels = [f"{e['notebook'][:2]} {e['exercise']}" for e in table]
    shares = [e["passed"] / e["submissions"] for e in table]
    fig = Figure(figsize=(6, 0.45 * len(table) + 1.2))
    ax = fig.subplots()
    bars = ax.barh(labels[::-1], shares[::-1], color="tab:green")
    for bar, entry in zip(bars, table[::-1]):
        ax.text(bar.get_width() + 0.01, bar.get_y() + bar.get_height() / 2,
                f"{entry['passed']}/{entry['submissions']}", va="center", fontsize=8)
    ax.set_xlim(0, 1.15)
    ax.set_xlabel("share of submissions that passed")
    ax.set_title("class summary: passed per exercise")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
