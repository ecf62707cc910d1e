"""The notebook panels, driven from code: no browser, no VGG (a quadratic objective on 8x8 images)."""
import io
import threading
import time

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

import nst_helpers as nh
from nst_helpers.notebook import widgets as nw

matplotlib.use("Agg")  # show() draws with pyplot; no window, whatever MPLBACKEND says

TARGET = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
START = torch.full_like(TARGET, 0.5)


def fake_run(settings, callback, delay=0.0):
    """A cheap stand-in for style_transfer: settings {"weight", "steps"}."""
    def objective(image):
        time.sleep(delay)
        return {"mse": ((image - TARGET) ** 2).sum() * settings["weight"]}
    return nh.optimize(objective, START, steps=settings["steps"], optimizer="adam", lr=0.05,
                       callback=callback, callback_every=1, progress=False)


def make_panel(run=fake_run, steps=6, controls=None, **kwargs):
    """A panel on fake_run (weight and steps controls), 32 px preview, redrawn at every callback."""
    controls = controls or {"weight": nw.log_slider("weight", 1.0, -2, 3),
                            "steps": widgets.IntSlider(value=steps, min=0, max=1000)}
    kwargs.setdefault("preview_width", 32)
    kwargs.setdefault("callback_every", 1)
    return nw.OptimizationPanel(run, controls, **kwargs)


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.size


def test_controls_set_from_code_reach_run():
    received = []
    controls = {"weight": nw.log_slider("weight", 1.0, -2, 3),
                "steps": widgets.IntSlider(value=3, min=1, max=100),
                "layers": nw.layer_picker(["relu1_1"])}

    def run(settings, callback):
        received.append(settings)
        return fake_run(settings, callback)

    panel = make_panel(run, controls=controls)
    assert panel.settings() == {"weight": 1.0, "steps": 3, "layers": ("relu1_1",)}
    controls["weight"].value = 100.0
    controls["steps"].value = 4
    controls["layers"].value = ("relu2_1", "relu3_1")
    expected = {"weight": 100.0, "steps": 4, "layers": ("relu2_1", "relu3_1")}
    assert panel.settings() == expected
    result = panel.run()
    assert received == [expected]
    assert result.steps == 4


def test_run_updates_preview_history_and_plot_at_each_callback():
    seen = []  # (preview, loss plot) right after each panel callback

    def run(settings, callback):
        def spy(step, image, losses):
            callback(step, image, losses)
            seen.append((panel.preview.value, panel.loss_plot.value, dict(losses)))
        return fake_run(settings, spy)

    panel = make_panel(run, steps=5)
    placeholder, empty_plot = panel.preview.value, panel.loss_plot.value
    result = panel.run()

    assert panel.result is result and result.steps == 5 and not result.interrupted
    assert len(seen) == 5
    previews = [preview for preview, _, _ in seen]
    assert placeholder not in previews
    assert len(set(previews)) > 1, "the preview must follow the image as it changes"
    assert len({plot for _, plot, _ in seen}) == 5 and empty_plot not in {plot for _, plot, _ in seen}
    assert panel.history == {key: [losses[key] for _, _, losses in seen] for key in ("total", "mse")}
    assert png_size(panel.preview.value) == (32, 32)
    assert png_size(panel.loss_plot.value)[0] > 100
    assert "done in" in panel.status.value
    assert not panel.running and not panel.run_button.disabled and panel.stop_button.disabled


def test_history_is_reset_and_redraws_throttled_by_callback_every():
    drawn = []

    def run(settings, callback):
        def spy(step, image, losses):
            before = panel.preview.value
            callback(step, image, losses)
            drawn.append(panel.preview.value != before)
        return fake_run(settings, spy)

    panel = make_panel(run, steps=6, callback_every=3)
    panel.run()
    panel.run()
    assert len(panel.history["total"]) == 6, "each run starts a fresh history"
    assert drawn[6:] == [True, False, False, True, False, False]


def test_after_a_run_the_preview_shows_the_result_image():
    panel = make_panel(steps=4, preview_width=8, callback_every=100)  # live: only step 1 is drawn
    result = panel.run()
    with Image.open(io.BytesIO(panel.preview.value)) as preview:
        assert preview.convert("RGB").tobytes() == nh.to_pil(result.image).tobytes()


def test_run_button_click_runs_in_a_thread():
    threads = []

    def run(settings, callback):
        threads.append(threading.current_thread())
        return fake_run(settings, callback)

    panel = make_panel(run, steps=3)
    panel.run_button.click()
    panel.wait(timeout=10)
    assert threads and threads[0] is not threading.main_thread()
    assert panel.result is not None and panel.result.steps == 3
    assert not panel.running and not panel.run_button.disabled and panel.stop_button.disabled


def test_stop_ends_a_background_run_early_and_keeps_the_best_image():
    calls = []

    def run(settings, callback):
        calls.append(settings)
        return fake_run(settings, callback, delay=0.002)

    panel = make_panel(run, steps=1000, callback_every=5)
    panel.start()
    assert panel.run_button.disabled and not panel.stop_button.disabled
    panel.start()  # already running: ignored
    assert panel.run() is None
    deadline = time.monotonic() + 10
    while len(panel.history.get("total", [])) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    panel.stop()
    panel.wait(timeout=10)
    assert not panel._thread.is_alive() and not panel.running
    assert len(calls) == 1
    result = panel.result
    assert result.interrupted and result.steps < 500
    assert result.best_loss <= min(panel.history["total"])
    assert f"stopped at step {result.steps}" in panel.status.value
    assert not panel.run_button.disabled and panel.stop_button.disabled


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_errors_show_in_status_are_raised_and_leave_the_panel_usable():
    panel = make_panel(steps=0)  # optimize refuses steps=0 with a ValueError
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        panel.run()
    assert "error: ValueError: steps must be a positive integer" in panel.status.value
    assert "color" in panel.status.value and "Traceback" not in panel.status.value
    assert isinstance(panel.error, ValueError) and panel.result is None

    panel.start()
    panel.wait(timeout=10)
    assert isinstance(panel.error, ValueError) and "error:" in panel.status.value
    assert not panel.running and not panel.run_button.disabled

    panel.controls["steps"].value = 2
    assert panel.run().steps == 2 and panel.error is None


def test_log_slider():
    slider = nw.log_slider("style weight", 1e4, 0, 8)
    assert isinstance(slider, widgets.FloatLogSlider)
    assert (slider.base, slider.min, slider.max, slider.step) == (10, 0, 8, 0.25)
    assert slider.value == 1e4 and not slider.continuous_update and slider.readout_format == ".1e"
    slider.value = 3e6
    assert slider.value == pytest.approx(3e6)
    for bad in (0.0, -1.0, 0.5, 1e9, float("nan")):
        with pytest.raises(ValueError, match="value"):
            nw.log_slider("style weight", bad, 0, 8)


def test_layer_picker():
    picker = nw.layer_picker(["relu1_1", "relu2_1"])
    assert isinstance(picker, widgets.SelectMultiple)
    assert picker.value == ("relu1_1", "relu2_1") and list(picker.options) == nh.layer_names()
    picker.value = ("relu5_1",)
    assert picker.value == ("relu5_1",)

    dropdown = nw.layer_picker("relu4_2", options=["relu3_2", "relu4_2"], multiple=False)
    assert isinstance(dropdown, widgets.Dropdown) and dropdown.value == "relu4_2"
    assert list(dropdown.options) == ["relu3_2", "relu4_2"]

    with pytest.raises(ValueError, match="relu9_9"):
        nw.layer_picker(["relu1_1", "relu9_9"])
    with pytest.raises(ValueError, match="relu1_1"):
        nw.layer_picker(["relu1_1"], options=["relu3_2", "relu4_2"])
    with pytest.raises(ValueError, match="one default"):
        nw.layer_picker(["relu1_1", "relu2_1"], multiple=False)


def test_show_displays_the_panel_runs_once_and_displays_a_static_figure(monkeypatch):
    shown, calls = [], []
    monkeypatch.setattr(nw, "display", shown.append)

    def run(settings, callback):
        calls.append(settings)
        return fake_run(settings, callback)

    panel = make_panel(run, steps=3, title="demo")
    panel.show()
    assert len(calls) == 1 and panel.result is not None and panel.result.steps == 3
    assert shown[0] is panel.widget
    assert len(shown) == 2 and isinstance(shown[1], Figure)
    assert len(shown[1].axes) == 2
    assert shown[1].number not in plt.get_fignums(), "closed, so a notebook shows it only once"

    shown.clear()
    panel.show(run_default=False)
    panel._ipython_display_()
    assert shown == [panel.widget, panel.widget] and len(calls) == 1


def stopping_run(panel_ref, run_method, stop_after):
    """A run that asks the panel to stop once its callback has seen `stop_after` steps."""
    def run(settings, callback):
        def watched(step, image, losses):
            callback(step, image, losses)
            if step == stop_after:
                panel_ref[0].stop()
        return run_method(watched)
    return run


def test_stop_ends_a_whole_deepdream_not_one_octave(vgg, content64):
    panel_ref = []
    dream = stopping_run(panel_ref, lambda cb: nh.deepdream(content64, "relu3_1", octaves=3, steps_per_octave=3,
                                                            extractor=vgg, progress=False, callback=cb), 4)
    panel = make_panel(dream)
    panel_ref.append(panel)
    panel.run()
    result = panel.result
    assert result.interrupted and result.steps == 5  # the stop lands at the next callback, in octave 2 of 3
    assert len(result.stages) == 1 and result.image.shape == content64.shape
    assert panel._steps == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("stop_after, refined", [(2, False), (6, True)])
def test_stop_ends_a_whole_tiled_run_in_either_pass(content64, style64, stop_after, refined):
    panel_ref = []
    tiled = stopping_run(panel_ref, lambda cb: nh.tiled_style_transfer(
        content64, style64, base_size=32, tile=32, overlap=8, base_steps=4, steps=20, progress=False,
        settings=nh.TransferSettings(device="cpu", precision="fp32"), callback=cb, callback_every=1), stop_after)
    panel = make_panel(tiled)
    panel_ref.append(panel)
    panel.run()
    result = panel.result
    assert result.interrupted and result.image.shape == content64.shape
    assert panel._steps == list(range(1, stop_after + 2))  # steps counted across both passes
    assert len(result.stages) == (2 if refined else 1)
    assert result.steps == len(result.history["total"]) == (stop_after + 1 - 4 if refined else stop_after + 1)
