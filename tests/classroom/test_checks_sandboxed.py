"""Issue 17's checks as the grader runs them: the student's function lives in a sandbox (bubblewrap
where it works, else a plain subprocess), the check judges in this process on plain data. Right
answers pass, a wrong one gets its message across the wall, and the package's own answer is
withheld. One sandbox for the whole module (a few seconds to start)."""
import pytest

from nst_helpers.classroom import checks
from nst_helpers.classroom.assignments import Limits, sandbox
from nst_helpers.classroom.assignments.session import SandboxedFunction, Session

NEW = ["check_coarse_to_fine", "check_colour_preserving_transfer", "check_dream_octaves", "check_mean_std_loss",
       "check_normalized_content_loss", "check_reconstruction_loop", "check_shuffle_positions",
       "check_texture_synthesis", "check_vgg19_from_scratch", "check_visualize_channel", "check_instance_norm"]

ANSWERS = '''
import torch
import torch.nn.functional as F
from collections import OrderedDict
from torch import nn
import nst_helpers as nh

def colour_preserving_transfer(content, style, transfer):
    stylized = transfer(content, style)
    m = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
    y = torch.einsum("ij,njhw->nihw", m, stylized)[:, :1]
    cbcr = torch.einsum("ij,njhw->nihw", m, content)[:, 1:]
    return torch.einsum("ij,njhw->nihw", torch.linalg.inv(m), torch.cat([y, cbcr], 1)).clamp(0, 1)

def visualize_channel(extractor, start, layer, channel, steps, transform):
    image = start.clone().requires_grad_()
    opt = torch.optim.Adam([image], lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        seen = transform(image) if transform is not None else image
        (-extractor.features(seen, [layer])[layer][:, channel].mean()).backward()
        opt.step()
        with torch.no_grad():
            image.clamp_(0, 1)
    return image.detach()

def normalized_content_loss(features, targets):
    return sum(((features[k] - t) ** 2).mean() / (t ** 2).mean() for k, t in targets.items()) / len(targets)

def fit(extractor, start, steps, loss_of):
    image = start.clone().requires_grad_()
    opt = torch.optim.Adam([image], lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        loss_of(image).backward()
        opt.step()
        with torch.no_grad():
            image.clamp_(0, 1)
    return image.detach()

def reconstruct(extractor, photo, start, layers, steps, content_loss):
    with torch.no_grad():
        targets = extractor.features(photo, layers)
    return fit(extractor, start, steps, lambda x: content_loss(extractor.features(x, layers), targets))

def shuffle_positions(features, seed):
    n, c, h, w = features.shape
    order = torch.randperm(h * w, generator=torch.Generator().manual_seed(seed))
    return features.reshape(n, c, h * w)[:, :, order].reshape(n, c, h, w)

def synthesize(extractor, style, start, weights, steps, style_loss):
    with torch.no_grad():
        grams = {k: nh.gram_matrix(v) for k, v in extractor.features(style, list(weights)).items()}
    return fit(extractor, start, steps, lambda x: style_loss(extractor.features(x, list(weights)), grams, weights))

class Caffe(nn.Module):
    def forward(self, x):
        return x.flip(1) * 255 - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)

def build_vgg19(state_dict):
    layers = OrderedDict(preprocess=Caffe())
    for name in nh.layer_names():
        if name.startswith("conv"):
            w = state_dict[name + ".weight"]
            layers[name] = nn.Conv2d(w.shape[1], w.shape[0], 3, padding=1)
            layers[name].weight.data, layers[name].bias.data = w, state_dict[name + ".bias"]
        else:
            layers[name] = nn.ReLU() if name.startswith("relu") else nn.AvgPool2d(2, 2)
    return nn.Sequential(layers)

def coarse_to_fine(content, style, sizes, transfer):
    final, result = max(content.shape[-2:]), None
    for size in sizes:
        here = nh.resize(content, size)
        init = None if result is None else nh.resize(result, tuple(here.shape[-2:]))
        result = transfer(here, nh.resize(style, round(max(style.shape[-2:]) * size / final)), init)
    return result

def dream_octaves(image, step_fn, octaves, scale):
    height, width = image.shape[-2:]
    detail = None
    for k in reversed(range(octaves)):
        size = (round(height / scale ** k), round(width / scale ** k))
        base = nh.resize(image, size) if k else image
        start = base if detail is None else base + F.interpolate(detail, size=size, mode="bilinear")
        detail = step_fn(start) - base
    return base + detail

def mean_std_loss(features, style_features, weights):
    def stats(x):
        var, mean = torch.var_mean(x, dim=(2, 3), unbiased=False)
        return mean, (var + 1e-5).sqrt()
    total = 0
    for k, w in weights.items():
        (fm, fs), (sm, ss) = stats(features[k]), stats(style_features[k])
        total = total + w * (F.mse_loss(fm, sm) + F.mse_loss(fs, ss))
    return total

def instance_norm(x, weight, bias, eps=1e-5):
    var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, unbiased=False)
    return (x - mean) / (var + eps).sqrt() * weight.view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)

# wrong answers and answers that delegate to the package's own
def mean_std_loss_var(features, style_features, weights):
    return sum(w * (F.mse_loss(features[k].mean((2, 3)), style_features[k].mean((2, 3)))
                    + F.mse_loss(features[k].var((2, 3), unbiased=False), style_features[k].var((2, 3), unbiased=False)))
               for k, w in weights.items())

def mean_std_loss_delegates(features, style_features, weights):
    return nh.mean_std_loss(features, style_features, weights)

def instance_norm_batch(x, weight, bias, eps=1e-5):
    var, mean = torch.var_mean(x, dim=(0, 2, 3), keepdim=True, unbiased=False)
    return (x - mean) / (var + eps).sqrt() * weight.view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)

def instance_norm_delegates(x, weight, bias, eps=1e-5):
    return F.instance_norm(x, weight=weight, bias=bias, eps=eps)

def instance_norm_module(x, weight, bias, eps=1e-5):
    layer = nn.InstanceNorm2d(x.shape[1], affine=True, eps=eps)
    return torch.func.functional_call(layer, {"weight": weight, "bias": bias}, (x,))

def build_vgg19_delegates(state_dict):
    return nn.Sequential(nh.VGG19Features(device="cpu").layers)

def reconstruct_no_clamp(extractor, photo, start, layers, steps, content_loss):
    with torch.no_grad():
        targets = extractor.features(photo, layers)
    image = start.clone().requires_grad_()
    opt = torch.optim.Adam([image], lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        content_loss(extractor.features(image, layers), targets).backward()
        opt.step()
    return image.detach()

def dream_octaves_delegates(image, step_fn, octaves, scale):
    return nh.deepdream(image, "relu1_1", octaves=octaves, octave_scale=scale, progress=False).image
'''

WRONG = [
    ("check_mean_std_loss", "mean_std_loss_var", "compared the variances, not the standard deviations"),
    ("check_reconstruction_loop", "reconstruct_no_clamp", r"outside \[0, 1\]"),
    ("check_mean_std_loss", "mean_std_loss_delegates", "this package's own answer to the exercise being graded"),
    ("check_vgg19_from_scratch", "build_vgg19_delegates", "this package's own answer to the exercise being graded"),
    ("check_dream_octaves", "dream_octaves_delegates", "this package's own answer to the exercise being graded"),
    ("check_instance_norm", "instance_norm_batch", "that is batch norm"),
    ("check_instance_norm", "instance_norm_delegates",
     "torch.nn.functional.instance_norm computes the answer to the exercise being graded"),
    ("check_instance_norm", "instance_norm_module", "computes the answer to the exercise being graded"),
]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    withheld = sorted({spec for name in NEW for spec in checks.WITHHELD[name]})
    running = Session(sandboxed=not sandbox.availability(), workdir=tmp_path_factory.mktemp("work"), hide=[],
                      withheld=withheld, quick=True, limits=Limits(cell_s=60, call_s=60, notebook_s=600))
    assert running.run_cell(0, ANSWERS) == ""
    yield running
    running.close()


def target_of(check_name):
    return {"check_coarse_to_fine": "coarse_to_fine", "check_colour_preserving_transfer": "colour_preserving_transfer",
            "check_dream_octaves": "dream_octaves", "check_mean_std_loss": "mean_std_loss",
            "check_normalized_content_loss": "normalized_content_loss", "check_reconstruction_loop": "reconstruct",
            "check_shuffle_positions": "shuffle_positions", "check_texture_synthesis": "synthesize",
            "check_vgg19_from_scratch": "build_vgg19", "check_visualize_channel": "visualize_channel",
            "check_instance_norm": "instance_norm"}[check_name]


def test_every_new_check_has_points_and_a_withheld_entry_that_can_be_stubbed():
    from nst_helpers.classroom.assignments import runner
    for name in NEW:
        assert name in checks.POINTS and name in checks.WITHHELD and name in checks.__all__
        for spec in checks.WITHHELD[name]:
            runner._resolve(spec)  # the named function exists


@pytest.mark.parametrize("check_name", NEW)
def test_right_answers_pass_across_the_sandbox_wall(session, check_name, capsys):
    getattr(checks, check_name)(SandboxedFunction(session, target_of(check_name)))
    assert capsys.readouterr().out.startswith(f"✓ {target_of(check_name)}")


@pytest.mark.parametrize("check_name, target, match", WRONG, ids=[target for _, target, _ in WRONG])
def test_wrong_and_delegating_answers_fail_across_the_wall(session, check_name, target, match):
    with pytest.raises(AssertionError, match=match):
        getattr(checks, check_name)(SandboxedFunction(session, target))
