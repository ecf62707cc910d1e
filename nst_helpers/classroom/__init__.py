"""The classroom layer: checks for the learner's own functions (`checks`), student versions
of the notebooks and grading (`assignments`). Top layer: it may use everything below it."""
