"""The check for notebook 06's exercise: the total loss of style transfer.

Like the other checks: the student's function runs on small fixed inputs and is compared with
this package's own losses; a known mistake gets a one-line explanation (AssertionError), success
prints one line starting with "✓". Takes well under a second and needs no VGG weights.
"""
from __future__ import annotations

from typing import Callable, Mapping

import torch

from ...core.losses import content_loss, gram_matrix, style_loss, tv_loss
from .base import as_scalar, close, fail, function_name, known_mistake, rand, randn, require_gradient, run_student


#: The check's layers: (C, h, w) per layer. Two content layers and three style layers, so that
#: "sum over the layers" and "mean over the layers" give different numbers for both terms.
CONTENT_SHAPES = {"relu3_2": (4, 5, 6), "relu4_2": (6, 3, 4)}
STYLE_SHAPES = {"relu1_1": (3, 6, 7), "relu2_1": (5, 4, 5), "relu3_1": (8, 3, 3)}
#: The check's weights: all different, so that swapping two of them changes the total.
WEIGHTS = {"content_weight": 0.5, "style_weight": 30.0, "tv_weight": 2.0}

TotalLoss = Callable[[Mapping[str, torch.Tensor], Mapping[str, torch.Tensor], Mapping[str, torch.Tensor],
                      torch.Tensor, float, float, float], torch.Tensor]


def _inputs() -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict[str, torch.Tensor], torch.Tensor]:
    """features (requiring grad), content_targets, style_grams and image (requiring grad)."""
    shapes = {**STYLE_SHAPES, **CONTENT_SHAPES}
    features = {layer: randn(1, *shape, seed=30 + i).relu().requires_grad_()
                for i, (layer, shape) in enumerate(shapes.items())}
    content_targets = {layer: randn(1, *shape, seed=40 + i).relu()
                       for i, (layer, shape) in enumerate(CONTENT_SHAPES.items())}
    style_grams = {layer: gram_matrix(1.5 * randn(1, *shape, seed=50 + i).relu())
                   for i, (layer, shape) in enumerate(STYLE_SHAPES.items())}
    image = rand(1, 3, 12, 10, seed=60).requires_grad_()
    return features, content_targets, style_grams, image


def _hint(error: Exception) -> str:
    if isinstance(error, KeyError):
        return ("loop over content_targets for the content term and over style_grams for the style "
                "term: features holds the layers of both")
    if isinstance(error, RuntimeError) and "size" in str(error):
        return ("compare features[layer] with content_targets[layer], and nh.gram_matrix(features[layer]) "
                "with style_grams[layer]; the targets of the style term are Gram matrices already")
    if isinstance(error, ValueError) and "unpack" in str(error):
        return ("style_grams are Gram matrices already (1, C, C): take nh.gram_matrix of the image's "
                "features only")
    return ""


def _terms(features: Mapping[str, torch.Tensor], content_targets: Mapping[str, torch.Tensor],
           style_grams: Mapping[str, torch.Tensor], image: torch.Tensor,
           gram_scale: Callable[[int, int, int], float] | None = None,
           reduction: str = "mean") -> dict[str, torch.Tensor]:
    """The three unweighted terms, equal layer weights (mean over layers), on detached inputs.
    gram_scale(C, h, w) multiplies the image's Gram matrices (to plant a normalization mistake);
    reduction="sum" sums the squared differences instead of averaging them."""
    f = {layer: value.detach() for layer, value in features.items()}

    def gram(layer: str) -> torch.Tensor:
        g = gram_matrix(f[layer])
        return g * gram_scale(*f[layer].shape[1:]) if gram_scale is not None else g

    reduce = torch.mean if reduction == "mean" else torch.sum
    content = sum(reduce((f[layer] - target) ** 2) for layer, target in content_targets.items())
    style = sum(reduce((gram(layer) - target) ** 2) for layer, target in style_grams.items())
    return {"content": content / len(content_targets), "style": style / len(style_grams),
            "tv": tv_loss(image.detach())}


def _probe(name: str, fn: TotalLoss, which: str) -> float:
    """The student's total with one weight set to 1 and the others to 0: one term on its own."""
    features, content_targets, style_grams, image = _inputs()
    weights = {key: float(key == f"{which}_weight") for key in WEIGHTS}
    out = as_scalar(name, run_student(name, fn, features, content_targets, style_grams, image, *weights.values(),
                             hint=_hint), how="add the three weighted terms into one number")
    return out.detach().item()


WHAT = {"content": "content_weight * the mean over content layers of mean((features - target) ** 2)",
        "style": "style_weight * the mean over style layers of mean((nh.gram_matrix(features) - gram) ** 2)",
        "tv": "tv_weight * nh.tv_loss(image)"}


def check_total_loss(fn: TotalLoss, show: bool = False) -> None:
    """fn(features, content_targets, style_grams, image, content_weight, style_weight, tv_weight) must
    return content_weight * C + style_weight * S + tv_weight * nh.tv_loss(image), a scalar tensor, where
    C = mean over the layers of content_targets of mean((features[l] - content_targets[l]) ** 2) and
    S = mean over the layers of style_grams of mean((nh.gram_matrix(features[l]) - style_grams[l]) ** 2).
    features: {layer: (1, C, h, w)} (content and style layers); content_targets: {layer: (1, C, h, w)};
    style_grams: {layer: (1, C, C)}; image: (1, 3, H, W). Gradients must reach features and image.
    show: draw your three weighted terms next to the expected ones."""
    name = function_name(fn, "total_loss")
    features, content_targets, style_grams, image = _inputs()
    a, b, g = WEIGHTS.values()
    out = as_scalar(name, run_student(name, fn, features, content_targets, style_grams, image, a, b, g, hint=_hint),
                  how="add the three weighted terms into one number")

    # equal layer weights: our content_loss / style_loss without weights average over the layers
    c_ref = content_loss({k: v.detach() for k, v in features.items()}, content_targets)
    s_ref = style_loss({k: v.detach() for k, v in features.items()}, style_grams)
    t = _terms(features, content_targets, style_grams, image)
    c, s, tv = c_ref, s_ref, t["tv"]
    expected = a * c + b * s + g * tv
    if not close(out, expected):
        nc, ns = len(content_targets), len(style_grams)
        summed = c * nc, s * ns
        mistakes = [
            (b * c + a * s + g * tv, "swapped the weights: content_weight multiplies the content term and "
                                     "style_weight the style term, not the other way round"),
            (a * c + b * s, "left out the total-variation term: add tv_weight * nh.tv_loss(image)"),
            (a * c + b * s + tv, "added nh.tv_loss(image) without its weight: multiply it by tv_weight"),
            (a * c + b * s + a * tv, "weighted TV with content_weight: multiply nh.tv_loss(image) by tv_weight"),
            (a * c + b * s + b * tv, "weighted TV with style_weight: multiply nh.tv_loss(image) by tv_weight"),
            (c + s + tv, "left out the weights: multiply the terms by content_weight, style_weight and tv_weight"),
            (a * summed[0] + b * summed[1] + g * tv,
             "summed the layers' losses instead of averaging them: divide the content term by "
             "len(content_targets) and the style term by len(style_grams) (equal weights that add up to 1)"),
            (a * summed[0] + b * s + g * tv,
             "summed the content layers' losses instead of averaging them: divide by len(content_targets)"),
            (a * c + b * summed[1] + g * tv,
             "summed the style layers' losses instead of averaging them: divide by len(style_grams)"),
        ]
        for what, scale in (("are not normalized", lambda ch, h, w: ch * h * w),
                            ("are divided by h*w only", lambda ch, h, w: ch),
                            ("are divided by C only", lambda ch, h, w: h * w)):
            scaled = _terms(features, content_targets, style_grams, image, gram_scale=scale)["style"]
            for style_term, extra in ((scaled, ""), (scaled * ns, ", and the style layers are summed, not averaged")):
                mistakes.append((a * c + b * style_term + g * tv,
                                 f"the Gram matrices of the image's features {what}: use nh.gram_matrix, "
                                 f"which divides by C*h*w like the target Grams{extra}"))
        summed_squares = _terms(features, content_targets, style_grams, image, reduction="sum")
        mistakes += [
            (a * summed_squares["content"] + b * summed_squares["style"] + g * tv,
             "summed the squared differences of the features and of the Gram matrices: take their mean, "
             "e.g. ((features - target) ** 2).mean()"),
            (a * summed_squares["content"] + b * s + g * tv,
             "summed the squared differences of the features: take their mean, ((features - target) ** 2).mean()"),
            (a * c + b * summed_squares["style"] + g * tv,
             "summed the squared differences of the Gram matrices: take their mean"),
        ]
        known = known_mistake(out, mistakes)
        if known:
            fail(name, known)
        for which in ("content", "style", "tv"):  # each term on its own, the other weights 0
            alone = _probe(name, fn, which)
            if not close(alone, t[which]):
                fail(name, f"with {which}_weight=1 and the other weights 0 it returned {alone:.5g}, expected "
                            f"{t[which].item():.5g}: the {which} term is {WHAT[which]}")
        fail(name, f"returned {out.detach().item():.5g} on the check's input, expected {expected.item():.5g}: "
                    "content_weight * content + style_weight * style + tv_weight * nh.tv_loss(image)")
    require_gradient(name, out, {**{f"features[{layer!r}]": features[layer] for layer in features},
                                "the image": image})
    print(f"✓ {name}: content_weight * content + style_weight * style + tv_weight * TV, "
          "layers averaged, and gradients reach the features and the image")
    if show:
        import matplotlib.pyplot as plt
        weights = {"content": a, "style": b, "tv": g}
        labels = list(weights)
        yours = [weights[which] * _probe(name, fn, which) for which in labels]
        ours = [weights[which] * t[which].item() for which in labels]
        fig, ax = plt.subplots(figsize=(5, 2.6))
        positions = torch.arange(len(labels)).tolist()
        ax.bar([p - 0.2 for p in positions], yours, width=0.4, label=name)
        ax.bar([p + 0.2 for p in positions], ours, width=0.4, label="expected")
        ax.set_xticks(positions, [f"{which}\n(weight {weights[which]:g})" for which in labels])
        ax.set_ylabel("weighted term")
        ax.set_title("the three weighted terms on the check's input")
        ax.legend()
        fig.tight_layout()
