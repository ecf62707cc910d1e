"""``python -m nst_helpers.classroom build|check|grade``: the same as `nst-classroom`."""
import sys

from .assignments import main

sys.exit(main())
