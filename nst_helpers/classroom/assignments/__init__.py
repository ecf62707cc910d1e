"""Student versions of the notebooks, and grading of what the students hand back.

In a source notebook (``notebooks/NN_name.ipynb``) the solution code sits inside code cells
between two comment lines::

    def gram_matrix(features):
        # BEGIN SOLUTION
        ...
        # END SOLUTION

A student version replaces each such region by one line, at the marker's indentation:
``raise NotImplementedError("exercise: fill in this function")``. Cells tagged ``solution-only``
are left out of the student version altogether. The cell after an exercise calls a check
(``nh.checks.check_gram(...)``) and carries the tag ``check``. Grading (grading.py) takes the
teacher's notebook, swaps in only the student's exercise cells, runs them in a sandbox
(sandbox.py: bubblewrap) and judges each check in the grader's own process on plain data
from the sandbox (probes.py, session.py); one CSV row per exercise:
``student,notebook,exercise,points,max_points,status,message``.

    nst-classroom build [--source notebooks] [--out assignments]
    nst-classroom check [--source notebooks] [--out assignments]
    nst-classroom grade SUBMISSIONS_DIR --out grades.csv [--assignment NN] [--no-sandbox] [--timeout 120]

(``python -m nst_helpers.classroom`` and the older ``python -m nst_helpers.assignments`` do the same.)

Cell numbers in messages are 0-based positions in the notebook's list of cells (as in nbval).
Exit codes: 0 done, 1 ``check`` found the student notebooks out of date, 2 bad input (one line on stderr).
"""
from .cli import main
from .exercises import Exercise, exercises
from .grading import grade, grade_submission, summary
from .results import ROW_FIELDS, STATUSES, Row, write_csv
from .session import Limits
from .student_versions import build, check_up_to_date, has_exercises, make_student_version, out_of_date

__all__ = ["ROW_FIELDS", "STATUSES", "Exercise", "Limits", "Row", "build", "check_up_to_date", "exercises", "grade",
           "grade_submission", "has_exercises", "main", "make_student_version", "out_of_date", "summary",
           "write_csv"]
