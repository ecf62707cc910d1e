"""nst_helpers: the small library behind the neural style transfer notebooks.

Images are tensors (1, 3, H, W), RGB, float in [0, 1], everywhere.
"""
from . import checks, colour, recipes, schedules, styles, transforms
from .devices import default_device
from .featurevis import channel_objective, layer_objective, visualize
from .images import ImageLoadError, load_image, resize, save_image, to_pil
from .losses import content_loss, gram_matrix, style_loss, tv_loss
from .loop import OptimizationResult, StopOptimization, optimize
from .memory import MemoryEstimateError, check_fits, estimate_transfer_memory
from .multiscale import multiscale_transfer
from .parameterizations import FourierImage, Parameterization, PixelImage
from .colour import match_histogram, preserve_colour
from .animation import FrameRecorder, gif_image, save_gif
from .deepdream import deepdream
from .feature_statistics import adain, adain_transfer
from .patch_loss import patch_transfer
from .plots import feature_mosaic, gram_heatmap, plot_losses, show_filters, show_images
from .recipes import best_style_transfer
from .reconstruction import reconstruct_content, start_image, synthesize_texture
from .runmode import choose, quick_mode
from .styles import split_masks
from .tiling import seam_score, tiled_style_transfer
from .transfer import GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS, get_extractor, style_transfer
from .vgg import LayerInfo, VGG19Features, format_layer_table, layer_names, layer_table
from .weights import WeightsError
from .widgets import OptimizationPanel, layer_picker, log_slider

__version__ = "0.1.0"

__all__ = [
    "FourierImage", "FrameRecorder", "GATYS_CONTENT_LAYERS", "GATYS_STYLE_LAYERS", "ImageLoadError",
    "LayerInfo", "MemoryEstimateError", "OptimizationPanel", "OptimizationResult",
    "Parameterization", "PixelImage", "StopOptimization", "VGG19Features", "WeightsError", "adain",
    "adain_transfer", "best_style_transfer", "channel_objective", "check_fits", "checks", "choose",
    "colour", "content_loss", "deepdream", "default_device", "estimate_transfer_memory",
    "feature_mosaic", "format_layer_table", "get_extractor", "gif_image", "gram_heatmap",
    "gram_matrix", "layer_names", "layer_objective", "layer_picker", "layer_table", "load_image",
    "log_slider", "match_histogram", "multiscale_transfer", "optimize", "patch_transfer",
    "plot_losses", "preserve_colour", "quick_mode", "recipes", "reconstruct_content", "resize",
    "save_gif", "save_image", "schedules", "seam_score", "show_filters", "show_images",
    "split_masks", "start_image", "style_loss", "style_transfer", "styles", "synthesize_texture",
    "tiled_style_transfer", "to_pil", "transforms", "tv_loss", "visualize",
]
