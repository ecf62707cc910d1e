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

#: Points per exercise, by check: the one place both graders read them from.
POINTS = {name: 1.0 for name in (
    "check_adain", "check_channel_objective", "check_content_loss", "check_dream_step", "check_gram",
    "check_lbfgs_closure", "check_masked_gram", "check_preprocess", "check_preserve_colour", "check_style_loss",
    "check_total_loss", "check_tv_loss")}

#: The package's own answer to each exercise ("module:function"): while an exercise is graded, the
#: student's code cannot call it (see nst_helpers.classroom.assignments.sandbox).
WITHHELD = {
    "check_adain": ("nst_helpers.methods.adain:adain",),
    "check_channel_objective": ("nst_helpers.methods.featurevis:channel_objective",),
    "check_content_loss": ("nst_helpers.core.losses:content_loss",),
    "check_dream_step": ("nst_helpers.methods.deepdream:ascent_step",),
    "check_gram": ("nst_helpers.core.losses:gram_matrix",),
    "check_lbfgs_closure": ("nst_helpers.classroom.checks.closure:_reference_closure",),
    "check_masked_gram": ("nst_helpers.core.losses:masked_gram_matrix",),
    "check_preprocess": ("nst_helpers.core.vgg:VGG19Features.preprocess",),
    "check_preserve_colour": ("nst_helpers.recipes.colour:preserve_colour",),
    "check_style_loss": ("nst_helpers.core.losses:style_loss",),
    "check_total_loss": ("nst_helpers.core.losses:content_loss", "nst_helpers.core.losses:style_loss"),
    "check_tv_loss": ("nst_helpers.core.losses:tv_loss",),
}

__all__ = [
    "NOT_IMPLEMENTED", "POINTS", "WITHHELD", "check_adain", "check_channel_objective", "check_content_loss", "check_dream_step",
    "check_gram", "check_lbfgs_closure", "check_masked_gram", "check_preprocess", "check_preserve_colour",
    "check_style_loss", "check_total_loss", "check_tv_loss",
]
