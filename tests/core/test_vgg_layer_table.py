import pytest
import torch

from nst_helpers.core.vgg import format_layer_table, layer_names, layer_table


def test_table_matches_the_network(vgg):
    rows = layer_table(48, 64)
    assert [r.name for r in rows] == layer_names()
    features = vgg.features(torch.rand(1, 3, 48, 64), layer_names())
    for row in rows:
        assert features[row.name].shape == (1, row.channels, row.height, row.width), row.name


def test_receptive_fields():
    rf = {r.name: (r.receptive_field, r.stride) for r in layer_table()}
    assert rf["conv1_1"] == (3, 1)
    assert rf["pool1"] == (6, 2)
    assert rf["conv2_1"] == (10, 2)
    assert rf["conv4_2"] == (84, 8)
    assert rf["relu5_4"] == (252, 16)  # the textbook figure for VGG19's last conv


def test_format_and_errors():
    text = format_layer_table(layer_table(192, 256))
    assert "conv4_2" in text and "512 x 24 x 32" in text and "84 px" in text
    with pytest.raises(ValueError, match="too small"):
        layer_table(8, 8)


def test_first_layer_filters_are_rgb(vgg):
    filters = vgg.first_layer_filters()
    assert filters.shape == (64, 3, 3, 3)
    assert torch.equal(filters, vgg.layers["conv1_1"].weight.detach().flip(1))  # Caffe weights read BGR
