"""Interactive panels for the notebooks: sliders, layer pickers, Run/Stop buttons and a live preview.

A panel runs one optimization (content reconstruction, texture synthesis, style transfer) with
the settings on its controls. ``panel.show()`` also computes the default settings right away and
draws a static matplotlib figure of the result, so that a notebook run headless (nbval, or before
committing it) shows a result even where widgets don't render, e.g. on GitHub.
"""
from __future__ import annotations

import html
import io
import threading
import time
from typing import Any, Callable, Mapping, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from ..core.images import to_pil
from ..core.vgg import check_layers, layer_names
from ..optimization.loop import Callback, OptimizationResult, StopOptimization
from .plots import plot_losses

#: run(settings, callback) -> result; settings is {control name: control value}.
Run = Callable[[dict[str, Any], Callback], OptimizationResult]


def log_slider(description: str, value: float, min_exp: float, max_exp: float,
               step: float = 0.25) -> widgets.FloatLogSlider:
    """A slider for a positive number spanning decades, from 10**min_exp to 10**max_exp.

    It moves in steps of `step` decades and reports its value only when released.
    """
    if not (value > 0 and 10.0 ** min_exp <= value <= 10.0 ** max_exp):
        raise ValueError(f"{description}: value {value!r} must be > 0 and within "
                         f"[1e{min_exp:g}, 1e{max_exp:g}]")
    return widgets.FloatLogSlider(value=value, base=10, min=min_exp, max=max_exp, step=step,
                                  description=description, continuous_update=False,
                                  readout_format=".1e")


def layer_picker(default: Sequence[str], options: Sequence[str] | None = None,
                 description: str = "layers", multiple: bool = True) -> widgets.Widget:
    """Choose VGG19 layers by name (options default to all of them, in forward order).

    multiple=True: a SelectMultiple whose .value is a tuple of names (default: those selected).
    multiple=False: a Dropdown whose .value is one name (default: one name).
    Unknown names raise ValueError.
    """
    options = check_layers(options if options is not None else layer_names(), f"{description} options")
    names = check_layers(default, description)
    missing = [name for name in names if name not in options]
    if missing:
        raise ValueError(f"{description}: {', '.join(missing)} not among the options")
    if multiple:
        return widgets.SelectMultiple(options=options, value=tuple(names), description=description,
                                      rows=min(8, len(options)))
    if len(names) != 1:
        raise ValueError(f"{description}: a single-choice picker needs one default layer, got {names}")
    return widgets.Dropdown(options=options, value=names[0], description=description)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="png")
    return buffer.getvalue()


def _loss_png(history: Mapping[str, Sequence[float]], steps: Sequence[int] | None = None) -> bytes:
    """Loss curves as PNG bytes (empty axes for an empty history); x = `steps` or 1, 2, 3, ...

    Drawn on a Figure of its own, never through pyplot, so that a background thread may call it.
    """
    fig = Figure(figsize=(4, 2.6), dpi=72)
    ax = fig.add_subplot()
    if any(history.values()):
        plot_losses(history, ax=ax)
        if steps is not None:
            for line in ax.lines:
                line.set_xdata(steps)
            ax.relim()
            ax.autoscale_view()
    else:
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
    fig.tight_layout()
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    return buffer.getvalue()


def _short(value: Any) -> str:
    """A control's value for a figure title: tuples as comma lists, numbers in 4 digits."""
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(map(str, value)) + ")"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


class OptimizationPanel:
    """Controls, Run/Stop buttons, a live preview and loss plot around one optimization.

    run(settings, callback): does the work with settings = {name: control.value} and must hand
        `callback` to optimize/style_transfer; returns their OptimizationResult.
    controls: {setting name: widget with a .value}, shown in this order.
    The preview (`preview_width` px wide) and the loss plot are redrawn at most every
    `callback_every` steps; the stop request is checked at every callback.
    """

    def __init__(self, run: Run, controls: Mapping[str, widgets.ValueWidget], title: str = "",
                 preview_width: int = 256, callback_every: int = 5) -> None:
        not_controls = [name for name, control in controls.items() if not hasattr(control, "value")]
        if not_controls:
            raise TypeError(f"controls: {', '.join(not_controls)} have no .value")
        if preview_width <= 0 or callback_every <= 0:
            raise ValueError(f"preview_width and callback_every must be positive, "
                             f"got {preview_width!r} and {callback_every!r}")
        self._run = run
        self.controls = dict(controls)
        self.title = title
        self.preview_width = preview_width
        self.callback_every = callback_every
        self.result: OptimizationResult | None = None
        self.error: Exception | None = None
        self.history: dict[str, list[float]] = {}
        self._steps: list[int] = []  # the step of each history entry
        self._drawn_step: int | None = None
        self._stop_requested = threading.Event()
        self._busy = threading.Lock()  # held from the start of a run to its end, in whichever thread
        self._thread: threading.Thread | None = None

        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play")
        self.stop_button = widgets.Button(description="Stop", icon="stop", disabled=True)
        self.run_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.status = widgets.HTML()
        blank = Image.new("RGB", (preview_width, preview_width), (235, 235, 235))
        self.preview = widgets.Image(value=_png(blank), format="png", width=preview_width)
        self.loss_plot = widgets.Image(value=_loss_png({}), format="png")
        self.widget = widgets.VBox([
            widgets.HTML(f"<h3>{title}</h3>" if title else ""),
            widgets.VBox(list(self.controls.values())),
            widgets.HBox([self.run_button, self.stop_button, self.status]),
            widgets.HBox([self.preview, self.loss_plot]),
        ])

    @property
    def running(self) -> bool:
        """Whether a run is in progress (in this thread or the background one)."""
        return self._busy.locked()

    def settings(self) -> dict[str, Any]:
        """The current values of the controls: {name: control.value}."""
        return {name: control.value for name, control in self.controls.items()}

    def run(self) -> OptimizationResult | None:
        """Run with the current settings in this thread and return the result (None if a run is
        already in progress). Errors from `run` are shown in .status and raised again."""
        settings = self.settings()
        if not self._begin():
            return None
        return self._execute(settings)

    def start(self) -> None:
        """Run with the current settings in a background thread (the Run button), so that the
        kernel stays free to handle a Stop click. Does nothing if a run is in progress."""
        settings = self.settings()
        if not self._begin():
            return
        self._thread = threading.Thread(target=self._execute_in_background, args=(settings,),
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the run to stop (the Stop button): it ends at its next callback, keeping the best image."""
        if self.running:
            self._stop_requested.set()
            self._set_status("stopping…")

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the background run (if any) to finish, at most `timeout` seconds."""
        if self._thread is not None:
            self._thread.join(timeout)

    def show(self, run_default: bool = True) -> None:
        """Display the panel. With run_default, also run the current settings now and display a
        static figure of the result (image and loss curves) that survives without widgets."""
        display(self.widget)
        if run_default:
            result = self.run()
            if result is not None:
                display(self._result_figure(result))

    def _ipython_display_(self) -> None:
        display(self.widget)

    def _begin(self) -> bool:
        """Claim the panel for a run and reset it; False if a run is already in progress."""
        if not self._busy.acquire(blocking=False):
            return False
        self._stop_requested.clear()
        self.history, self._steps, self._drawn_step, self.error = {}, [], None, None
        self.run_button.disabled, self.stop_button.disabled = True, False
        self._set_status("running…")
        return True

    def _execute(self, settings: dict[str, Any]) -> OptimizationResult:
        """The run itself, after _begin; always leaves the panel ready for the next run."""
        start = time.perf_counter()
        try:
            try:
                result = self._run(settings, self._callback)
            except Exception as error:
                self.error = error
                self._set_status(f"error: {_one_line(error)}", error=True)
                raise
            self.result = result
            self.preview.value = self._preview_png(result.image)
            self.loss_plot.value = _loss_png(result.history)
            if result.interrupted:
                self._set_status(f"stopped at step {result.steps}")
            else:
                self._set_status(f"done in {time.perf_counter() - start:.1f} s · {result.steps} steps"
                                 f" · best total {result.best_loss:.3g}")
            return result
        finally:
            self.run_button.disabled, self.stop_button.disabled = False, True
            self._busy.release()

    def _execute_in_background(self, settings: dict[str, Any]) -> None:
        try:
            self._execute(settings)
        except Exception:
            pass  # already in .error and .status; raising here would only print to the kernel's log

    def _callback(self, step: int, image: torch.Tensor, losses: Mapping[str, float]) -> None:
        """The callback handed to `run`: records the losses, redraws, and stops if asked to."""
        for key, value in losses.items():
            self.history.setdefault(key, []).append(float(value))
        self._steps.append(step)
        if self._stop_requested.is_set():
            raise StopOptimization
        if self._drawn_step is None or step - self._drawn_step >= self.callback_every:
            self._drawn_step = step
            self.preview.value = self._preview_png(image)
            self.loss_plot.value = _loss_png(self.history, self._steps)
            self._set_status(f"step {step} · total {losses.get('total', float('nan')):.3g}")

    def _preview_png(self, image: torch.Tensor) -> bytes:
        """(1, 3, H, W) in [0, 1] -> PNG bytes, `preview_width` px wide (small images stay sharp)."""
        pil = to_pil(image)
        height = max(1, round(pil.height * self.preview_width / pil.width))
        resample = Image.Resampling.NEAREST if self.preview_width > pil.width else Image.Resampling.LANCZOS
        return _png(pil.resize((self.preview_width, height), resample))

    def _set_status(self, text: str, error: bool = False) -> None:
        text = html.escape(text)
        self.status.value = f'<span style="color:#c00">{text}</span>' if error else text

    def _result_figure(self, result: OptimizationResult) -> Figure:
        """The final image next to its loss curves; closed in pyplot, so it is shown only where
        displayed, not a second time at the end of the notebook cell."""
        fig, (ax_image, ax_loss) = plt.subplots(1, 2, figsize=(9, 3.6))
        ax_image.imshow(to_pil(result.image))
        ax_image.set_title(f"{'stopped at' if result.interrupted else 'after'} step {result.steps}")
        ax_image.axis("off")
        if any(result.history.values()):
            plot_losses(result.history, ax=ax_loss, title="weighted loss terms per step")
        settings = ", ".join(f"{name}={_short(value)}" for name, value in self.settings().items())
        fig.suptitle(f"{self.title}: {settings}" if self.title else settings, fontsize=9)
        fig.tight_layout()
        plt.close(fig)
        return fig
