"""Checks for the functions students write in the notebooks: ``nh.checks.check_*``.

Each check runs the student's function on small fixed inputs, compares the result with this
package's own implementation and, when they differ, raises AssertionError with a one- or
two-sentence explanation of what is wrong (for known mistakes, which one). On success it prints
one line starting with "✓". Every check takes well under a second and needs no VGG weights.
One module per topic; `base` holds what they share.
"""
from .adain import check_adain
from .base import NOT_IMPLEMENTED
from .closure import check_lbfgs_closure
from .colour import check_preserve_colour
from .deepdream import check_dream_step
from .featurevis import check_channel_objective
from .gram import check_gram, check_masked_gram
from .losses import check_content_loss, check_style_loss, check_tv_loss
from .preprocessing import check_preprocess
from .total_loss import check_total_loss

__all__ = [
    "NOT_IMPLEMENTED", "check_adain", "check_channel_objective", "check_content_loss", "check_dream_step",
    "check_gram", "check_lbfgs_closure", "check_masked_gram", "check_preprocess", "check_preserve_colour",
    "check_style_loss", "check_total_loss", "check_tv_loss",
]
