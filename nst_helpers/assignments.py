"""The old name of `nst-classroom`: ``python -m nst_helpers.assignments build|check|grade``
still works and runs nst_helpers.classroom.assignments."""
import sys

from .classroom.assignments import main

if __name__ == "__main__":
    sys.exit(main())
