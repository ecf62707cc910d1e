"""Checks for the functions students write in the notebooks: ``nh.checks.check_*``.

Each check runs the student's function on small fixed inputs, compares the result with this
package's own implementation and, when they differ, raises AssertionError with a one- or
two-sentence explanation of what is wrong (for known mistakes, which one). On success it prints
one line starting with "✓". Every check takes well under a second and needs no VGG weights,
except check_vgg19_from_scratch (the bundled VGG19, a second or two). Loops are graded by running
them at tiny size with stand-ins (see recording.py and loops.py).
One module per topic; `base` holds what they share.
"""
from .adain import check_adain
from .base import NOT_IMPLEMENTED
from .closure import check_lbfgs_closure
from .coarse_to_fine import check_coarse_to_fine
from .colour import check_preserve_colour
from .colour_transfer import check_colour_preserving_transfer
from .deepdream import check_dream_step
from .featurevis import check_channel_objective
from .gram import check_gram, check_masked_gram
from .gram_positions import check_shuffle_positions
from .instance_norm import check_instance_norm
from .losses import check_content_loss, check_style_loss, check_tv_loss
from .mean_std import check_mean_std_loss
from .octaves import check_dream_octaves
from .preprocessing import check_preprocess
from .reconstruction import check_normalized_content_loss, check_reconstruction_loop
from .texture import check_texture_synthesis
from .total_loss import check_total_loss
from .vgg_from_scratch import check_vgg19_from_scratch
from .visualization import check_visualize_channel

#: Points per exercise, by check: the one place both graders read them from.
POINTS = {name: 1.0 for name in (
    "check_adain", "check_channel_objective", "check_content_loss", "check_dream_step", "check_gram",
    "check_lbfgs_closure", "check_masked_gram", "check_preprocess", "check_preserve_colour", "check_style_loss",
    "check_total_loss", "check_tv_loss",
    # issue 17's exercises, one or more per notebook (see EXERCISES.md)
    "check_coarse_to_fine", "check_colour_preserving_transfer", "check_dream_octaves", "check_mean_std_loss",
    "check_normalized_content_loss", "check_reconstruction_loop", "check_shuffle_positions",
    "check_texture_synthesis", "check_vgg19_from_scratch", "check_visualize_channel",
    # issue 20: notebook 10's exercise
    "check_instance_norm")}

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
    "check_coarse_to_fine": ("nst_helpers.recipes.multiscale:multiscale_transfer",),
    "check_colour_preserving_transfer": ("nst_helpers.recipes.colour:preserve_colour",
                                         "nst_helpers.recipes.colour:match_histogram"),
    "check_dream_octaves": ("nst_helpers.methods.deepdream:deepdream",),
    "check_mean_std_loss": ("nst_helpers.methods.adain:mean_std_loss", "nst_helpers.methods.adain:channel_mean_std"),
    "check_normalized_content_loss": ("nst_helpers.core.losses:content_loss",
                                      "nst_helpers.classroom.checks.reconstruction:_normalized"),
    "check_reconstruction_loop": ("nst_helpers.methods.reconstruction:reconstruct_content",
                                  "nst_helpers.optimization.loop:optimize"),
    "check_shuffle_positions": (),  # nothing in the package shuffles positions
    "check_texture_synthesis": ("nst_helpers.methods.reconstruction:synthesize_texture",
                                "nst_helpers.optimization.loop:optimize"),
    # no extractor can be built while it is graded: no cell that runs then may call get_extractor
    "check_vgg19_from_scratch": ("nst_helpers.core.vgg:VGG19Features.__init__",),
    "check_visualize_channel": ("nst_helpers.methods.featurevis:visualize", "nst_helpers.optimization.loop:optimize"),
    # the package has no instance norm of its own: torch's is the answer to withhold (nn.InstanceNorm2d calls it)
    "check_instance_norm": ("torch.nn.functional:instance_norm",),
}

__all__ = [
    "NOT_IMPLEMENTED", "POINTS", "WITHHELD", "check_adain", "check_channel_objective", "check_content_loss", "check_dream_step",
    "check_gram", "check_lbfgs_closure", "check_masked_gram", "check_preprocess", "check_preserve_colour",
    "check_style_loss", "check_total_loss", "check_tv_loss",
    "check_coarse_to_fine", "check_colour_preserving_transfer", "check_dream_octaves", "check_mean_std_loss",
    "check_normalized_content_loss", "check_reconstruction_loop", "check_shuffle_positions",
    "check_texture_synthesis", "check_vgg19_from_scratch", "check_visualize_channel", "check_instance_norm",
]
