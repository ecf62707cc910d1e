import matplotlib
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nst_helpers.notebook.plots import feature_mosaic, gram_heatmap, plot_losses, show_filters, show_images  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def shown(fig):
    return [ax for ax in fig.axes if ax.images]


def test_feature_mosaic_shows_the_most_active_channels():
    features = torch.zeros(1, 10, 6, 8)
    features[0, 7] = 5.0
    features[0, 2] = 3.0
    fig = feature_mosaic(features, channels=2, ncols=2)
    assert [ax.get_title() for ax in shown(fig)] == ["#7", "#2"]
    fig = feature_mosaic(features[0], channels=[0, 1, 4])
    assert len(shown(fig)) == 3
    with pytest.raises(ValueError, match="features"):
        feature_mosaic(torch.zeros(5, 5))


def test_gram_heatmap_annotates_small_matrices():
    ax = gram_heatmap(torch.tensor([[1.0, 0.25], [0.25, 2.0]]), labels=["flowers", "trees"])
    assert sorted(t.get_text() for t in ax.texts) == ["0.25", "0.25", "1", "2"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["flowers", "trees"]
    assert not gram_heatmap(torch.rand(1, 16, 16)).texts
    assert gram_heatmap(torch.full((2, 2), 0.25), vmin=0, vmax=1).images[0].get_clim() == (0, 1)
    with pytest.raises(ValueError, match="square"):
        gram_heatmap(torch.rand(3, 4))


def test_show_filters_maps_zero_to_gray():
    filters = torch.zeros(4, 3, 3, 3)
    filters[0, 0, 1, 1] = 2.0  # a red centre
    filters[0, 2, 0, 0] = -2.0
    fig = show_filters(filters, ncols=4)
    tile = shown(fig)[0].images[0].get_array()
    assert tile[1, 1, 0] == pytest.approx(1.0) and tile[0, 0, 2] == pytest.approx(0.0)
    assert tile[2, 2, 1] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="filters"):
        show_filters(torch.zeros(4, 1, 3, 3))


def test_show_images_titles():
    fig = show_images({"a": torch.rand(1, 3, 8, 8), "b": torch.rand(3, 8, 8)})
    assert [ax.get_title() for ax in shown(fig)] == ["a", "b"]


def test_log_loss_plot_leaves_zero_out_instead_of_stretching_the_axis():
    ax = plot_losses({"content": [0.0, 50.0, 40.0], "style": [800.0, 20.0, 10.0]})
    low, high = ax.get_ylim()
    assert low > 1.0 and high < 1e4  # a zero clamped to 1e-12 would pull the axis down 13 decades
    plt.close(ax.figure)


def test_curves_on_top_of_each_other_stay_distinguishable():
    same = [1.0, 0.5, 0.25]
    ax = plot_losses({"a": same, "b": same, "c": same, "d": same, "e": same})
    styles = [line.get_linestyle() for line in ax.lines]
    assert len(set(styles[:4])) == 4 and styles[4] == styles[0]
    assert len({line.get_color() for line in ax.lines}) == 5


def test_a_curve_drawn_on_top_of_another_is_thinner():
    ax = plot_losses({"a": [1.0, 0.5], "b": [1.0, 0.5]})
    assert ax.lines[0].get_linewidth() > ax.lines[1].get_linewidth()


def test_loss_plots_tick_whole_steps_only():
    ax = plot_losses({"style": [3.0, 2.0, 1.5]})
    assert all(float(tick).is_integer() for tick in ax.get_xticks())
    plt.close("all")


def test_gram_heatmap_ticks_whole_channel_numbers():
    ax = gram_heatmap(torch.eye(4))
    assert all(float(t).is_integer() for t in ax.get_xticks()) and all(float(t).is_integer() for t in ax.get_yticks())
    plt.close("all")
