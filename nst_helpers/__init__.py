"""nst_helpers: the small library behind the neural style transfer notebooks.

Images are tensors (1, 3, H, W), RGB, float in [0, 1], everywhere.
"""
from .devices import default_device
from .images import ImageLoadError, load_image, resize, save_image, to_pil
from .losses import content_loss, gram_matrix, style_loss, tv_loss
from .loop import OptimizationResult, StopOptimization, optimize
from .parameterizations import Parameterization, PixelImage
from .plots import plot_losses, show_images
from .transfer import GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS, get_extractor, style_transfer
from .vgg import VGG19Features, layer_names
from .weights import WeightsError

__version__ = "0.1.0"

__all__ = [
    "GATYS_CONTENT_LAYERS", "GATYS_STYLE_LAYERS", "ImageLoadError", "OptimizationResult",
    "Parameterization", "PixelImage", "StopOptimization", "VGG19Features", "WeightsError",
    "content_loss", "default_device", "get_extractor", "gram_matrix", "layer_names", "load_image",
    "optimize", "plot_losses", "resize", "save_image", "show_images", "style_loss", "style_transfer",
    "to_pil", "tv_loss",
]
