"""Gradient, guided backprop and deconvnet maps, checked on tiny hand-built networks."""
from collections import OrderedDict

import pytest
import torch
from torch import nn

import nst_helpers as nh
from conftest import DATA
from nst_helpers.methods import attribution


class TinyNet(nn.Module):
    """An extractor-like network: features(image, layers) -> {name: activations}, check_layers.

    conv1 is the identity (1x1) with bias -0.5, so relu1's forward input at a pixel is the pixel
    minus 0.5: relu1 is inactive exactly where the pixel is below 0.5."""

    def __init__(self, relus: bool = True, pool: bool = True, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        conv1 = nn.Conv2d(3, 3, 1)
        conv1.weight.data = torch.eye(3).view(3, 3, 1, 1)
        conv1.bias.data.fill_(-0.5)
        layers = [("conv1", conv1), ("relu1", nn.ReLU()), ("conv2", nn.Conv2d(3, 4, 3, padding=1)),
                  ("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)), ("conv3", nn.Conv2d(4, 2, 3, padding=1)),
                  ("relu3", nn.ReLU())]
        layers = [(n, m) for n, m in layers if (relus or "relu" not in n) and (pool or "pool" not in n)]
        self.layers = nn.ModuleDict(OrderedDict(layers))
        self.requires_grad_(False)

    def check_layers(self, layers, what="layers"):
        layers = [layers] if isinstance(layers, str) else list(layers)
        for name in layers:
            if name not in self.layers:
                raise ValueError(f"{what}: unknown layer {name!r}; valid names are {', '.join(self.layers)}")
        return layers

    def features(self, image, layers):
        wanted, out, x = set(self.check_layers(layers)), {}, image
        for name, layer in self.layers.items():
            x = layer(x)
            if name in wanted:
                out[name] = x
        return out


def images(n: int = 2) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return [torch.rand(1, 3, 16, 16, generator=generator) for _ in range(n)]


def true_gradient(net, image, layer, channel, unit):
    pixels = image.clone().requires_grad_(True)
    net.features(pixels, [layer])[layer][0, channel][unit].backward()
    return pixels.grad


def test_guided_backprop_is_zero_where_the_forward_relu_was_inactive():
    net, image = TinyNet(), images(1)[0]
    guided = nh.guided_backprop(image, "conv3", 0, net)
    inactive = image < 0.5  # relu1's input is the pixel minus 0.5
    assert guided.abs().sum() > 0
    assert (guided[inactive] == 0).all()
    assert (guided >= 0).all()  # relu1 passes only positive gradients, conv1 is the identity
    # the plain gradient is zero there too, but it also keeps negative values; deconvnet ignores the mask
    plain = nh.saliency(image, "conv3", 0, net)
    assert (plain[inactive] == 0).all() and (plain < 0).any()
    assert (nh.deconvnet(image, "conv3", 0, net)[inactive] > 0).any()


def test_deconvnet_does_not_depend_on_the_forward_pass_without_pooling():
    """Without max pooling, a deconvnet's ReLUs ignore the forward pass entirely: the same unit
    gives the same map for any image. The gradient and guided backprop depend on the image."""
    net, (a, b) = TinyNet(pool=False), images(2)
    unit = (5, 7)
    assert torch.equal(nh.deconvnet(a, "relu3", 1, net, unit), nh.deconvnet(b, "relu3", 1, net, unit))
    assert not torch.equal(nh.guided_backprop(a, "relu3", 1, net, unit), nh.guided_backprop(b, "relu3", 1, net, unit))
    assert not torch.equal(nh.saliency(a, "conv3", 1, net, unit), nh.saliency(b, "conv3", 1, net, unit))


def test_with_max_pooling_the_deconvnet_follows_the_forward_switches():
    net, (a, b) = TinyNet(), images(2)
    assert not torch.equal(nh.deconvnet(a, "conv3", 1, net, (3, 3)), nh.deconvnet(b, "conv3", 1, net, (3, 3)))


def test_the_three_agree_without_relus():
    net, image = TinyNet(relus=False), images(1)[0]
    maps = [f(image, "conv3", 1, net) for f in (nh.saliency, nh.guided_backprop, nh.deconvnet)]
    assert maps[0].abs().sum() > 0
    assert torch.allclose(maps[0], maps[1]) and torch.allclose(maps[0], maps[2])


def test_saliency_is_the_true_gradient_and_the_relus_are_restored():
    net, image = TinyNet(), images(1)[0]
    row, column, value = nh.strongest_unit(image, "relu3", 0, net)
    assert value == net.features(image, ["relu3"])["relu3"][0, 0].max().item()
    nh.guided_backprop(image, "relu3", 0, net)
    nh.deconvnet(image, "relu3", 0, net)
    assert all("forward" not in vars(m) for m in net.modules())
    assert torch.equal(nh.saliency(image, "relu3", 0, net), true_gradient(net, image, "relu3", 0, (row, column)))


def test_the_map_fills_the_receptive_field_of_vgg19():
    vgg = nh.get_extractor(pooling="max", device="cpu", precision="fp32")
    image = nh.load_image(DATA / "content" / "tubingen.jpg", max_size=64)
    row, column, _ = nh.strongest_unit(image, "relu3_1", 5, vgg)
    table = {r.name: r for r in nh.layer_table(*image.shape[-2:])}["relu3_1"]
    top = row * table.stride - (table.receptive_field - table.stride) // 2
    left = column * table.stride - (table.receptive_field - table.stride) // 2
    for rule in attribution.RULES:
        moved = attribution.project(image, "relu3_1", 5, rule, vgg).abs().sum(dim=(0, 1)) > 0
        rows, cols = moved.any(dim=1).nonzero(), moved.any(dim=0).nonzero()
        assert (rows.min().item(), cols.min().item()) == (max(top, 0), max(left, 0))
        assert (rows.max().item() + 1, cols.max().item() + 1) == (
            min(top + table.receptive_field, image.shape[-2]), min(left + table.receptive_field, image.shape[-1]))


def test_bad_input_gives_one_line_value_errors():
    net, image = TinyNet(), images(1)[0]
    cases = [
        (lambda: nh.saliency(image, "relu9", 0, net), "layer: unknown layer 'relu9'"),
        (lambda: nh.guided_backprop(image, "relu3", 2, net), r"channel: relu3 has channels 0\.\.1, got 2"),
        (lambda: nh.deconvnet(image, "relu3", -1, net), "channel: relu3 has channels"),
        (lambda: nh.deconvnet(image, "relu3", 0, net, (8, 0)), r"unit: expected \(row, column\) inside the 8x8 map"),
        (lambda: nh.saliency(image[0], "relu3", 0, net), r"image: expected shape \(1, 3, H, W\)"),
        (lambda: attribution.project(image, "relu3", 0, "backwards", net), "rule must be one of"),
        (lambda: nh.strongest_unit(image, "relu3", 0, extractor="vgg"), "extractor: expected a feature extractor"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message) as error:
            call()
        assert "\n" not in str(error.value)
