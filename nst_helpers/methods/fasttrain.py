"""Training the feed-forward style network (Johnson et al.) over a set of photos.

Unlike every other method here it optimizes a network's weights over many photos, not one
image, so it has its own loop: each step takes a batch of random crops (randomly flipped) of
the training photos, runs them through the network, and scores the outputs with the perceptual
loss: content (VGG19 features of the output vs the photo's, at relu2_2 by default), style
(Gram matrices vs the painting's, at Gatys' five layers) and total variation, weighted as in
style_transfer (content_weight * content + style_weight * style + tv_weight * tv). Adam updates
the weights.

Ctrl-C (KeyboardInterrupt) or StopOptimization raised by the callback ends training early and
keeps the weights so far. A batch whose loss or gradient is not finite is skipped (the weights
and batch-norm statistics stay as they were).
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import torch
from tqdm.auto import tqdm

from ..core.devices import PRECISIONS, resolve_device
from ..core.images import resize
from ..core.losses import KINDS, content_loss, gram_matrix, style_loss, tv_loss
from ..core.validation import (Layers, check_callback, check_choice, check_image, check_int, check_number,
                               check_weight, layer_weights)
from ..core.vgg import get_extractor
from ..core.weights import check_weights_choice
from ..optimization.loop import StopOptimization
from .feedforward import NORMS, UPSAMPLES, TransformNet
from .photos import MIN_PHOTO_SIDE, check_photos, prepare_photos, random_crops
from .setup import GATYS_STYLE_LAYERS

#: train_feedforward's default number of steps: the notebook's CPU default (benchmarks/README.md).
DEFAULT_TRAINING_STEPS = 600
#: Training stops after this many skipped (non-finite) batches in a row.
MAX_SKIPS_IN_A_ROW = 10
#: callback(step, losses, network): every `callback_every` steps and after the last one.
TrainingCallback = Callable[[int, Mapping[str, float], TransformNet], None]


@dataclass(frozen=True)
class FastTrainingSettings:
    """Every choice of a training run besides the style, the photos and the number of steps.

    Checked when made (a bad value is a one-line ValueError naming it); change one with
    .replace(name=value). The defaults are the notebook's CPU settings (benchmarks/README.md).
    crop: side of the square random crops (px); batch_size: crops per step; photo_size: longer
    side the photos are shrunk to before cropping (the scale the network will be used at; a
    photo whose shorter side is below `crop` is enlarged to it); style_size: longer side of the
    painting when its Gram matrices are taken; lr: Adam's learning rate. precision: VGG19's
    ("auto": bf16 where the hardware does it natively); in bf16 the network's forward pass runs
    under bf16 autocast too (its weights and updates stay fp32).
    """

    content_layers: Layers = ("relu2_2",)
    style_layers: Layers = GATYS_STYLE_LAYERS
    content_weight: float = 3.0
    style_weight: float = 100.0
    tv_weight: float = 300.0
    loss_kind: str = "mse"
    crop: int = 128
    batch_size: int = 4
    photo_size: int = 256
    style_size: int = 256
    lr: float = 2e-3
    norm: str = "instance"
    upsample: str = "resize"
    seed: int = 0
    device: str | torch.device | None = None
    weights: str | os.PathLike = "original"
    precision: str = "auto"

    def __post_init__(self) -> None:
        checks: dict[str, Callable[[Any, str], Any]] = {
            "content_layers": layer_weights, "style_layers": layer_weights,
            "loss_kind": lambda v, n: check_choice(v, n, KINDS), "norm": lambda v, n: check_choice(v, n, NORMS),
            "upsample": lambda v, n: check_choice(v, n, UPSAMPLES),
            "precision": lambda v, n: check_choice(v, n, PRECISIONS),
            **{side: lambda v, n: check_int(v, n, MIN_PHOTO_SIDE) for side in ("crop", "photo_size", "style_size")},
            "batch_size": check_int,
            "lr": check_number, "seed": lambda v, n: check_int(v, n, 0),
        }
        for name, check in checks.items():
            check(getattr(self, name), name)
        for name in ("content_weight", "style_weight", "tv_weight"):  # stored as floats
            object.__setattr__(self, name, check_weight(getattr(self, name), name))
        resolve_device(self.device)
        check_weights_choice(self.weights)

    def replace(self, **changes: Any) -> FastTrainingSettings:
        """A copy with some choices changed (checked again); an unknown name is a ValueError."""
        names = [f.name for f in dataclasses.fields(self)]
        for name in changes:
            if name not in names:
                raise ValueError(f"{name}: not a training setting; choose from {', '.join(names)}")
        return dataclasses.replace(self, **changes)

    def plain(self) -> dict[str, Any]:
        """The settings as plain values (str, int, float, tuples, dicts), for saving with a network."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Mapping):
                value = {str(k): float(v) for k, v in value.items()}
            elif isinstance(value, (list, tuple)):
                value = tuple(str(v) for v in value)
            elif not (value is None or isinstance(value, (str, int, float, bool))):
                value = str(value)
            out[f.name] = value
        return out


TRAINING_DEFAULT = FastTrainingSettings()


@dataclass
class TrainingResult:
    """network: the trained TransformNet (eval mode). history: {"total", "content", "style",
    "tv": one weighted loss per finished step}. skipped: the steps whose batch was skipped
    (loss or gradient not finite). interrupted: stopped early by Ctrl-C or StopOptimization."""

    network: TransformNet
    history: dict[str, list[float]]
    steps: int
    seconds: float
    settings: FastTrainingSettings
    interrupted: bool = False
    skipped: list[int] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def info(self, **extra: Any) -> dict[str, Any]:
        """Plain values describing this training, for save_network(info=...)."""
        last = {k: v[-1] for k, v in self.history.items() if v}
        return {"settings": self.settings.plain(), "steps": self.steps, "seconds": round(self.seconds, 1),
                "interrupted": self.interrupted, "skipped": len(self.skipped), "final_losses": last, **extra}


def _finite_grads(network: TransformNet) -> bool:
    return all(bool(torch.isfinite(p.grad).all()) for p in network.parameters() if p.grad is not None)


def train_feedforward(style: torch.Tensor, photos: Sequence[torch.Tensor], steps: int = DEFAULT_TRAINING_STEPS, *,
                      settings: FastTrainingSettings = TRAINING_DEFAULT, network: TransformNet | None = None,
                      callback: TrainingCallback | None = None, callback_every: int = 50,
                      progress: bool = True, **changes: Any) -> TrainingResult:
    """Train a TransformNet to paint photos in the style of `style` (1, 3, H, W) in [0, 1].

    photos: training photos, each (1, 3, H, W) in [0, 1] (load a folder with load_photos); any
        number from one. steps: Adam steps, each on settings.batch_size random crops.
    settings: a FastTrainingSettings; keyword `changes` replace some of its choices
        (e.g. norm="batch", steps of 300 at crop=96).
    network: a TransformNet to go on training (its norm and upsample win over the settings');
        by default a new one, initialized from settings.seed.
    callback(step, losses, network): every `callback_every` steps and after the last one, for a
        live loss curve or sample outputs (stylize(network, photo)); raise StopOptimization to
        end training and keep the weights so far. Ctrl-C does the same.
    Returns a TrainingResult (.network in eval mode, .history of the weighted losses).
    """
    s = settings.replace(**changes) if changes else settings
    if not isinstance(s, FastTrainingSettings):
        raise ValueError(f"settings: expected a FastTrainingSettings, got {type(s).__name__}")
    check_image(style, "style")
    photos = check_photos(photos)
    check_int(steps, "steps", 1)
    check_int(callback_every, "callback_every", 1)
    check_callback(callback)
    if network is not None and not isinstance(network, TransformNet):
        raise ValueError(f"network: expected a TransformNet to go on training, got {type(network).__name__}")

    device = resolve_device(s.device)
    content_w = layer_weights(s.content_layers, "content_layers")
    style_w = layer_weights(s.style_layers, "style_layers")
    layers = list(dict.fromkeys([*content_w, *style_w]))
    extractor = get_extractor(s.weights, "avg", str(device), s.precision)
    with torch.no_grad():
        painting = resize(style, s.style_size) if max(style.shape[-2:]) != s.style_size else style
        grams = {k: gram_matrix(v) for k, v in extractor.features(painting.to(device), style_w).items()}
    pool = [p.to(device) for p in prepare_photos(photos, s.photo_size, s.crop)]
    generator = torch.Generator().manual_seed(s.seed)
    if network is None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(s.seed)
            network = TransformNet(s.norm, s.upsample)
    network.to(device).train()
    optimizer = torch.optim.Adam(network.parameters(), lr=s.lr)
    targets = {k: g.expand(s.batch_size, -1, -1) for k, g in grams.items()}

    def autocast() -> contextlib.AbstractContextManager:
        """The network's forward pass in bf16 where VGG runs in bf16 (weights and updates stay fp32)."""
        if extractor.precision == "bf16":
            return torch.autocast(device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    history: dict[str, list[float]] = {}
    skipped: list[int] = []
    messages: list[str] = []
    in_a_row, step, interrupted = 0, 0, False
    start = time.perf_counter()
    bar = tqdm(total=steps, desc="training", disable=not progress, leave=True)
    try:
        while step < steps:
            batch = random_crops(pool, s.batch_size, s.crop, generator)
            saved = [b.detach().clone() for b in network.buffers()]  # batch norm's running statistics
            with autocast():
                output = network(batch).float()
            features = extractor.features(output, layers)
            with torch.no_grad():
                photo_features = extractor.features(batch, content_w)
            terms = {"content": s.content_weight * content_loss(features, photo_features, content_w, s.loss_kind),
                     "style": s.style_weight * style_loss(features, targets, style_w, s.loss_kind),
                     "tv": s.tv_weight * tv_loss(output)}
            total = sum(terms.values())
            optimizer.zero_grad(set_to_none=True)
            finite = bool(torch.isfinite(total))
            if finite:
                total.backward()
                finite = _finite_grads(network)
            step += 1
            if not finite:
                with torch.no_grad():
                    for b, old in zip(network.buffers(), saved):
                        b.copy_(old)
                skipped.append(step)
                in_a_row += 1
                bar.update(1)
                if in_a_row >= MAX_SKIPS_IN_A_ROW:
                    messages.append(f"step {step}: {in_a_row} batches in a row had a loss or gradient that is not "
                                    "finite; stopped with the weights so far")
                    warnings.warn(messages[-1], RuntimeWarning, stacklevel=2)
                    break
                continue
            in_a_row = 0
            optimizer.step()
            last = {"total": total.item(), **{k: v.item() for k, v in terms.items()}}
            for key, value in last.items():
                history.setdefault(key, []).append(value)
            bar.set_postfix({k: f"{v:.3g}" for k, v in last.items()}, refresh=False)
            bar.update(1)
            if callback is not None and (step % callback_every == 0 or step == steps):
                callback(step, dict(last), network)
                network.train()
    except KeyboardInterrupt:
        interrupted = True
        messages.append(f"interrupted at step {step}; kept the weights so far")
    except StopOptimization:
        interrupted = True
    finally:
        bar.close()
    network.zero_grad(set_to_none=True)
    network.eval()
    if skipped:
        messages.append(f"skipped {len(skipped)} batch(es) whose loss or gradient was not finite")
    return TrainingResult(network, history, step, time.perf_counter() - start, s, interrupted, skipped, messages)
