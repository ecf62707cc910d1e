"""Notebook 06's from-scratch VGG19 check and nh.vgg19_state_dict: a right network passes, each
planted mistake is found at its layer with its own message."""
from collections import OrderedDict

import pytest
import torch
from torch import nn

import nst_helpers as nh
from nst_helpers.classroom.checks import vgg_from_scratch
from nst_helpers.classroom.checks.vgg_from_scratch import check_vgg19_from_scratch
from nst_helpers.core.weights import CONV_LAYERS

MEAN_BGR = torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)


def test_the_state_dict_has_vgg19s_keys_and_shapes_and_is_a_fresh_copy():
    state = nh.vgg19_state_dict()
    assert list(state) == [f"{name}.{part}" for name, _, _ in CONV_LAYERS for part in ("weight", "bias")]
    for name, c_in, c_out in CONV_LAYERS:
        assert state[f"{name}.weight"].shape == (c_out, c_in, 3, 3) and state[f"{name}.bias"].shape == (c_out,)
        assert state[f"{name}.weight"].dtype == torch.float32
    state["conv1_1.weight"].zero_()
    assert nh.vgg19_state_dict()["conv1_1.weight"].abs().sum() > 0


def test_the_checks_reference_is_vgg19features(vgg):
    image = vgg_from_scratch._image()
    expected = vgg.features(image, vgg_from_scratch.LAYERS)
    x, state = image.flip(1) * 255 - MEAN_BGR, nh.vgg19_state_dict()
    for layer in vgg_from_scratch.LAYERS:
        x = vgg_from_scratch._op(layer, x, state)
        assert vgg_from_scratch._same(x, expected[layer]), layer


class Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def caffe(x):
    return x.flip(1) * 255 - MEAN_BGR


def build_with(preprocess=caffe, pool=nn.AvgPool2d, relu=True, padding=1, bias=True, weights_of=None, numbered=False):
    """VGG19 from the weights, with one piece swapped out, as a student might write it."""
    def build_vgg19(state_dict):
        layers = OrderedDict(preprocess=Lambda(preprocess))
        for name in nh.layer_names():
            if name.startswith("conv"):
                key = (weights_of or {}).get(name, name)
                weight = state_dict[f"{key}.weight"]
                conv = nn.Conv2d(weight.shape[1], weight.shape[0], 3, padding=padding, bias=bias)
                conv.weight.data.copy_(weight)
                if bias:
                    conv.bias.data.copy_(state_dict[f"{key}.bias"])
                layers[name] = conv
            elif name.startswith("relu"):
                if relu:
                    layers[name] = nn.ReLU(inplace=True)
            else:
                layers[name] = pool(2, 2)
        net = nn.Sequential(*layers.values()) if numbered else nn.Sequential(layers)
        return net.requires_grad_(False).eval()
    return build_vgg19


def with_add_module(state_dict):
    """Another right way: add_module in a loop, the preprocessing folded into conv1_1 (RGB weights)."""
    net = nn.Sequential()
    net.add_module("scale", Lambda(lambda x: x * 255 - MEAN_BGR.flip(1)))
    for name in nh.layer_names():
        if name.startswith("conv"):
            weight = state_dict[f"{name}.weight"]
            weight = weight.flip(1) if name == "conv1_1" else weight
            conv = nn.Conv2d(weight.shape[1], weight.shape[0], 3, padding=1)
            conv.weight.data, conv.bias.data = weight, state_dict[f"{name}.bias"]
            net.add_module(name, conv)
        else:
            net.add_module(name, nn.ReLU() if name.startswith("relu") else nn.AvgPool2d(2))
    return net


@pytest.mark.parametrize("fn", [build_with(), with_add_module], ids=["ordered-dict", "add-module"])
def test_right_networks_pass_with_one_line(fn, capsys):
    check_vgg19_from_scratch(fn)
    out = capsys.readouterr().out
    assert out.startswith("✓ ") and "matches VGG19" in out and out.count("\n") == 1


def tv_normalization(x):
    return (x - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def zipped_with_the_preprocessing(state_dict):
    net = build_with()(state_dict)
    return nn.Sequential(OrderedDict(zip(nh.layer_names(), net.children())))


def pool3_one_block_late(state_dict):
    items = list(build_with()(state_dict).named_children())
    moved = items.pop([name for name, _ in items].index("pool3"))
    items.insert([name for name, _ in items].index("relu4_1") + 1, moved)
    return nn.Sequential(OrderedDict(items))


@pytest.mark.parametrize("fn, match", [
    (build_with(preprocess=lambda x: x * 255 - MEAN_BGR), "wrong preprocessing.*kept RGB order"),
    (build_with(preprocess=lambda x: x.flip(1) - MEAN_BGR), "wrong preprocessing.*did not scale to 0-255"),
    (build_with(preprocess=lambda x: x.flip(1) * 255), "wrong preprocessing.*did not subtract the mean"),
    (build_with(preprocess=tv_normalization), "wrong preprocessing.*torchvision's normalization"),
    (build_with(preprocess=lambda x: x), "wrong preprocessing.*no preprocessing"),
    (build_with(pool=nn.MaxPool2d), "pool1 is max pooling.*nn.AvgPool2d"),
    (build_with(relu=False), "no module is named relu1_1.*a ReLU after every convolution"),
    (build_with(padding=0), "raised RuntimeError.*padding=1"),
    (build_with(bias=False), "conv1_1 has no bias"),
    (build_with(weights_of={"conv3_2": "conv3_3", "conv3_3": "conv3_2"}), "conv3_2 has the weights of conv3_3"),
    (build_with(numbered=True), "numbered 0, 1, 2"),
    (zipped_with_the_preprocessing, "the module named 'conv1_1' puts out its input unchanged.*off by one"),
    (pool3_one_block_late, "wrong order: conv4_1 runs after relu3_4, where pool3 belongs"),
    (lambda state_dict: None, "returned None"),
    (lambda state_dict: state_dict, "returned a dict, expected a torch module"),
], ids=["rgb", "0-1", "no-mean", "torchvision", "none", "max-pool", "no-relu", "no-padding", "no-bias",
        "swapped-weights", "numbered", "off-by-one", "order", "none-returned", "dict-returned"])
def test_each_planted_mistake_is_named(fn, match):
    with pytest.raises(AssertionError, match=match) as info:
        check_vgg19_from_scratch(fn)
    assert "\n" not in str(info.value)


def test_a_relu_that_does_nothing_is_named():
    def identity_relus(state_dict):
        net = build_with()(state_dict)
        net.relu2_1 = nn.Identity()
        return net
    with pytest.raises(AssertionError, match="no ReLU: relu2_1 is conv2_1's output unchanged"):
        check_vgg19_from_scratch(identity_relus)
