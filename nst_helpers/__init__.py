"""nst_helpers: the small library behind the neural style transfer notebooks.

Images are tensors (1, 3, H, W), RGB, float in [0, 1], everywhere.

The folders are the layers, each importing only from those below it (checked by
import-linter, see pyproject.toml):

    classroom      checks of the learner's functions, student versions, grading
    notebook, cli  widgets, figures, GIFs, quick mode, claims | the nst-transfer command
    recipes        multiscale, tiling, colour, presets
    methods        setup (shared by gatys, adain, patches), reconstruction, featurevis, attribution, deepdream, styles
    optimization   objectives, the loop, optimizers, memory estimates
    canvas         parameterizations, transforms, schedules
    core           images, devices, weights, pickles, networks, vgg, losses, measures, validation

Everything a notebook needs is importable from here. The widget and plotting names (and
`checks`) load on first use, so `import nst_helpers` does not import ipywidgets or matplotlib.
"""
from __future__ import annotations

import importlib
from typing import Any

from .canvas import schedules, transforms
from .canvas.parameterizations import FourierImage, Parameterization, PixelImage
from .core.devices import default_device
from .core.images import ImageLoadError, load_image, resize, save_image, to_pil
from .core.losses import content_loss, gram_matrix, style_loss, tv_loss
from .core.measures import (colour_distance, high_frequency_energy, periodic_energy, reference_content_loss,
                            reference_losses, reference_style_loss)
from .core.networks import AlexNetFeatures, NetworkFeatures, VGG16Features
from .core.validation import check_image
from .core.vgg import LayerInfo, VGG19Features, format_layer_table, get_extractor, layer_names, layer_table
from .core.weights import WeightsError
from .core.weights import vgg19_state_dict
from .methods import styles
from .methods.attribution import deconvnet, guided_backprop, saliency, strongest_unit
from .methods.adain import ADAIN_STYLE_LAYERS, adain, adain_transfer, channel_mean_std, mean_std_loss
from .methods.deepdream import deepdream, octave_sizes
from .methods.featurevis import channel_objective, layer_objective, visualize
from .methods.fasttrain import FastTrainingSettings, TrainingResult, train_feedforward
from .methods.feedforward import (NetworkFileError, TransformNet, count_flops, count_parameters, load_network,
                                  network_info, save_network, stylize)
from .methods.photos import load_photos
from .methods.gatys import GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS, TransferSettings, style_transfer, transfer_with
from .methods.patches import patch_transfer
from .methods.reconstruction import reconstruct_content, start_image, synthesize_texture
from .methods.setup import initial_image
from .methods.styles import split_masks
from .notebook.animation import FrameRecorder, gif_image, save_gif
from .notebook.claims import ClaimError, claim, describe_change, relative_change
from .notebook.runmode import choose, quick_mode
from .optimization import objectives
from .optimization.loop import OptimizationResult, StopOptimization, optimize
from .optimization.objectives import Objective
from .optimization.memory import MemoryEstimateError, check_fits, estimate_transfer_memory
from .recipes import PRESETS, best_style_transfer, colour
from .recipes.colour import match_histogram, preserve_colour
from .recipes.multiscale import multiscale_transfer
from .recipes.tiling import seam_score, tiled_style_transfer

__version__ = "0.1.0"

#: Names loaded on first use: {name: (module, attribute or None for the module itself)}.
_LAZY = {
    "checks": ("nst_helpers.classroom.checks", None),
    **{name: ("nst_helpers.notebook.plots", name)
       for name in ("feature_mosaic", "gram_heatmap", "plot_losses", "show_filters", "show_images")},
    **{name: ("nst_helpers.notebook.widgets", name)
       for name in ("OptimizationPanel", "layer_picker", "log_slider")},
}


def __getattr__(name: str) -> Any:
    """PEP 562: import the module behind a lazy name the first time it is asked for."""
    if name not in _LAZY:
        raise AttributeError(f"module 'nst_helpers' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "ADAIN_STYLE_LAYERS", "AlexNetFeatures", "ClaimError", "FourierImage", "FrameRecorder", "GATYS_CONTENT_LAYERS",
    "GATYS_STYLE_LAYERS", "ImageLoadError", "LayerInfo", "MemoryEstimateError", "NetworkFeatures", "Objective", "OptimizationPanel",
    "OptimizationResult", "PRESETS", "Parameterization", "PixelImage", "StopOptimization", "TransferSettings", "VGG16Features", "VGG19Features",
    "WeightsError", "adain", "adain_transfer", "best_style_transfer", "channel_mean_std", "channel_objective",
    "check_fits", "check_image", "checks", "deconvnet", "guided_backprop", "saliency", "strongest_unit", "choose", "claim", "colour_distance", "colour", "content_loss", "deepdream", "default_device", "describe_change",
    "estimate_transfer_memory", "feature_mosaic", "format_layer_table", "get_extractor", "gif_image",
    "gram_heatmap", "gram_matrix", "high_frequency_energy", "initial_image", "layer_names", "layer_objective", "layer_picker",
    "layer_table", "load_image", "log_slider", "match_histogram", "mean_std_loss", "multiscale_transfer",
    "objectives", "octave_sizes", "optimize", "patch_transfer", "periodic_energy", "plot_losses", "preserve_colour", "quick_mode",
    "reconstruct_content", "reference_content_loss", "reference_losses", "reference_style_loss", "relative_change", "resize", "save_gif", "save_image", "schedules", "seam_score", "show_filters",
    "show_images", "split_masks", "start_image", "style_loss", "style_transfer", "styles",
    "synthesize_texture", "tiled_style_transfer", "to_pil", "transfer_with", "transforms", "tv_loss", "visualize",
    "vgg19_state_dict",
    "FastTrainingSettings", "NetworkFileError", "TrainingResult", "TransformNet", "count_flops", "count_parameters",
    "load_network", "load_photos", "network_info", "save_network", "stylize", "train_feedforward",
]
