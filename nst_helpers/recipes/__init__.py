"""The recipes layer: methods combined into finished results. Coarse to fine (`multiscale`),
large prints in tiles (`tiling`), colour transfer (`colour`) and the presets (`presets`)."""
from .presets import PRESETS, best_style_transfer, preset_transfer

__all__ = ["PRESETS", "best_style_transfer", "preset_transfer"]
