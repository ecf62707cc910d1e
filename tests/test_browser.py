"""A real browser drives a notebook's OptimizationPanel in JupyterLab, like a learner would.

JupyterLab 4 runs on 127.0.0.1 (a random port and token, temporary Jupyter config, data,
runtime, settings and workspace directories, NST_QUICK=1 for the kernel) and serves a
*copy* of the notebook, so nothing in the repository is modified (JupyterLab autosaves).
Headless Chromium, driven by Playwright, opens the notebook, runs all cells from the Run
menu, checks that the panel's widgets render, moves a slider, presses Run, and checks that
the preview image changes and the panel reports that it finished. Screenshots go to
build/browser/ (and to $NST_SCREENSHOT_DIR if set).

Not part of the default test run. Run it with:

    pip install -e ".[browser]"             # Playwright; its browser download is not needed
    sudo apt-get install chromium           # or point NST_CHROMIUM at a Chromium/Chrome binary
    NST_QUICK=1 python -m pytest -m browser tests/test_browser.py -s

Without `-m browser` (or NST_BROWSER=1) the test is skipped, and so it is without Playwright,
Chromium or JupyterLab. NST_REQUIRE_BROWSER=1 (set by .ci/run) asks for the test and turns
those skips into failures. NST_BROWSER_NOTEBOOK=path drives another notebook's panel.
"""
from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: The notebook whose panel is driven, relative to the repository root (NST_BROWSER_NOTEBOOK,
#: a path relative to the repository or absolute, drives another one, e.g. a teacher's draft).
NOTEBOOK = os.environ.get("NST_BROWSER_NOTEBOOK") or "notebooks/06_neural_style_transfer.ipynb"
#: The description of the slider to move; None moves the panel's first slider.
SLIDER: str | None = None

SERVER_START_TIMEOUT = 180  # s, until JupyterLab answers
PAGE_TIMEOUT = 240          # s, until the notebook is open and its kernel idle
RUN_ALL_TIMEOUT = 1200      # s, for all cells in quick mode on a slow, shared CPU
PANEL_TIMEOUT = 120         # s, until the panel's widgets render after the cells ran
RUN_TIMEOUT = 600           # s, for one press of Run
SCREENSHOT_DIR = ROOT / "build" / "browser"

pytestmark = pytest.mark.browser


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


def _browser_asked(config: pytest.Config) -> bool:
    """Whether this run asked for browser tests: -m with a marker expression that names
    `browser` (and not as `not browser`), NST_BROWSER=1, or NST_REQUIRE_BROWSER=1."""
    if _flag("NST_BROWSER") or _flag("NST_REQUIRE_BROWSER"):
        return True
    expression = config.getoption("markexpr", "") or ""
    return bool(re.search(r"\bbrowser\b", expression)) and not re.search(r"\bnot\s+browser\b", expression)


def _chromium() -> str | None:
    """The Chromium executable: $NST_CHROMIUM, else chromium or chromium-browser on PATH."""
    configured = os.environ.get("NST_CHROMIUM", "").strip()
    if configured:
        return shutil.which(configured) or (configured if os.access(configured, os.X_OK) else None)
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _skip_or_fail(reason: str) -> None:
    if _flag("NST_REQUIRE_BROWSER"):
        pytest.fail(f"NST_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium(request: pytest.FixtureRequest) -> str:
    """The Chromium path, after checking that the browser test was asked for and can run."""
    if not _browser_asked(request.config):
        pytest.skip("browser test: run with -m browser or NST_BROWSER=1")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _skip_or_fail('Playwright is not installed (pip install -e ".[browser]")')
    if importlib.util.find_spec("jupyterlab") is None:
        _skip_or_fail('JupyterLab is not installed (pip install -e ".[notebooks]")')
    path = _chromium()
    if path is None:
        _skip_or_fail("no Chromium found (apt-get install chromium, or set NST_CHROMIUM)")
    return path


# --- JupyterLab ------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fresh_copy(source: Path, target: Path) -> None:
    """The notebook without outputs, execution counts or saved widget state, so that every
    output and widget the browser shows comes from this run's kernel."""
    nb = json.loads(source.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        cell.get("metadata", {}).pop("execution", None)
    nb.get("metadata", {}).pop("widgets", None)
    target.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_settings(settings_dir: Path) -> None:
    """JupyterLab user settings for a quiet, deterministic session: no news or update checks,
    no autosave, every cell in the DOM (no windowing)."""
    overrides = {
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    }
    for name, values in overrides.items():
        path = settings_dir / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


def _get(url: str, timeout: float = 5) -> int:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (localhost)
        return response.status


def _stop_server(process: subprocess.Popen, base: str, token: str) -> None:
    """Shut JupyterLab down with its kernels: the shutdown API, then SIGTERM, then SIGKILL,
    and finally any of its child processes (kernels) still alive, each by its pid."""
    try:
        import psutil
        children = psutil.Process(process.pid).children(recursive=True)
    except Exception:  # psutil missing, or the server already gone
        children = []
    if process.poll() is None:
        with contextlib.suppress(Exception):
            request = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
            urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 (localhost)
        for sig, wait in ((None, 30), (signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            if sig is not None and process.poll() is None:
                process.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(wait)
                break
    for child in children:
        with contextlib.suppress(Exception):
            child.terminate()
            child.wait(10)
        with contextlib.suppress(Exception):
            child.kill()


@pytest.fixture(scope="module")
def jupyterlab(chromium: str, tmp_path_factory: pytest.TempPathFactory):
    """JupyterLab 4 on 127.0.0.1 serving a copy of NOTEBOOK; yields (base URL, token, notebook
    path relative to the server's root). Always stopped, kernels included."""
    source = ROOT / NOTEBOOK
    if not source.is_file():
        pytest.fail(f"phase 'setup': {NOTEBOOK} does not exist", pytrace=False)
    tmp = tmp_path_factory.mktemp("jupyterlab")
    root = tmp / "root"
    notebook = Path("notebooks") / source.name  # in the copy, as in the repository
    (root / notebook.parent).mkdir(parents=True)
    _fresh_copy(source, root / notebook)
    (root / "data").symlink_to(ROOT / "data", target_is_directory=True)  # ../data from notebooks/
    home = tmp / "jupyter"
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # as for a learner: the kernel picks the inline backend
    env.update({
        "NST_QUICK": "1",
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "IPYTHONDIR": str(home / "ipython"),
        "PYTHONUNBUFFERED": "1",
    })
    _write_settings(home / "settings")
    port, token = _free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.news_url=None",                                        # no announcements feed
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",  # no update check
        "--LabApp.extension_manager=readonly",                           # no PyPI queries
        "--LanguageServerManager.autodetect=False",                      # no language-server scan
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI containers run as root
    log_path = tmp / "jupyterlab.log"
    start = time.perf_counter()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"phase 'server start': JupyterLab exited with code {process.returncode}:\n"
                            + log_path.read_text(errors="replace")[-3000:], pytrace=False)
            with contextlib.suppress(Exception):
                if _get(f"{base}/api/status?token={token}") == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"phase 'server start': JupyterLab did not answer within "
                            f"{SERVER_START_TIMEOUT} s:\n" + log_path.read_text(errors="replace")[-3000:],
                            pytrace=False)
            time.sleep(0.5)
        print(f"\n[browser] server start: {time.perf_counter() - start:.1f} s ({base}, log {log_path})")
        yield base, token, notebook.as_posix(), log_path
    finally:
        _stop_server(process, base, token)


# --- the test --------------------------------------------------------------------------------

class Phases:
    """Times each phase; a failure names its phase, the time taken and the timings so far,
    and leaves a screenshot of the page."""

    def __init__(self, page, stem: str) -> None:
        self.page, self.stem, self.timings = page, stem, {}

    @contextlib.contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        except Exception as error:
            took = time.perf_counter() - start
            shot = _save(lambda path: self.page.screenshot(path=path, full_page=True),
                         f"{self.stem}-FAILED.png")
            detail = str(error).strip()
            if len(detail) > 2500:  # Playwright appends a snapshot of the whole page
                detail = detail[:2500] + " […]"
            message = (f"phase '{name}' failed after {took:.1f} s: {type(error).__name__}: "
                       f"{detail}\n  timings so far: {self.summary()}\n  screenshot: {shot}")
            raise AssertionError(message) from error
        self.timings[name] = time.perf_counter() - start
        print(f"[browser] {name}: {self.timings[name]:.1f} s")

    def summary(self) -> str:
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.timings.items()) or "none"


def _save(take, filename: str) -> list[str]:
    """Take a screenshot into build/browser/ and copy it into $NST_SCREENSHOT_DIR if set."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / filename
    try:
        take(str(path))
    except Exception as error:  # a screenshot must never hide the real failure
        return [f"(no screenshot: {error})"]
    paths = [str(path)]
    extra = os.environ.get("NST_SCREENSHOT_DIR", "").strip()
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        paths.append(str(shutil.copy2(path, Path(extra) / filename)))
    return paths


def _wait(condition, timeout: float, what, interval: float = 0.5):
    """Poll condition() until it returns something truthy; TimeoutError naming `what` (a string,
    or a function that returns one, called at the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what() if callable(what) else what} (waited {timeout:.0f} s)")
        time.sleep(interval)


# SHA-256 of the bytes behind an <img>'s src (a blob: or data: URL): a new src with the same
# picture counts as unchanged.
HASH_IMAGE = """async (img) => {
    const bytes = await (await fetch(img.src)).arrayBuffer();
    const digest = await crypto.subtle.digest("SHA-256", bytes);
    return Array.from(new Uint8Array(digest), b => b.toString(16).padStart(2, "0")).join("");
}"""

# Whether an <img> shows a picture: decoded, and more than one colour (the panel's placeholder
# before any run is a uniform grey square).
IMAGE_COLOURS = """async (img) => {
    try { await img.decode(); } catch (error) { return 0; }
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    if (!canvas.width || !canvas.height) return 0;
    const context = canvas.getContext("2d");
    context.drawImage(img, 0, 0);
    const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
    const colours = new Set();
    for (let i = 0; i < data.length && colours.size < 2; i += 4)
        colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    return colours.size;
}"""

# Records every text the status shows and every new src of the preview from now on.
WATCH = """([status, preview]) => {
    window.__nstWatch = {statuses: [], previews: 0};
    new MutationObserver(() => window.__nstWatch.statuses.push(status.innerText.trim()))
        .observe(status, {childList: true, subtree: true, characterData: true});
    new MutationObserver(() => { window.__nstWatch.previews += 1; })
        .observe(preview, {attributes: true, attributeFilter: ["src"]});
}"""

PROMPTS = """() => Array.from(document.querySelectorAll(
    ".jp-Notebook .jp-CodeCell .jp-InputArea-prompt"), p => p.innerText.trim())"""

ERRORS = """() => Array.from(document.querySelectorAll(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'), e => e.innerText)
    .filter(t => /Traceback|^\\w*(Error|Exception)\\b/m.test(t))"""

KERNEL_STATE = """() => Array.from(document.querySelectorAll(".jp-StatusBar-Widget .jp-StatusBar-TextItem"),
    e => e.innerText.trim()).find(t => / \\| \\w+$/.test(t)) || null"""


def _kernel_state(page) -> str | None:
    """The status bar's kernel item, e.g. 'Python 3 (ipykernel) | Idle' or 'No Kernel | Initializing'."""
    return page.evaluate(KERNEL_STATE)


def _kernel_idle(page) -> bool:
    state = _kernel_state(page) or ""
    return state.endswith(" | Idle") and not state.startswith("No Kernel")


def _no_dialog(page) -> None:
    """Fail at once if JupyterLab asks something (e.g. Select Kernel) instead of running."""
    dialogs = page.locator(".jp-Dialog")
    if dialogs.count():
        text = " ".join(dialogs.first.inner_text().split())
        raise AssertionError(f"JupyterLab shows a dialog: {text!r}")


# the buttons' text is their description; their accessible names also hold the icon's glyph
RUN = re.compile(r"^\s*Run\s*$")
STOP = re.compile(r"^\s*Stop\s*$")
FINISHED = re.compile(r"^(done in|stopped at|error)")


def _image_hash(image) -> str:
    # the src may be replaced (and the old blob revoked) while it is read: try again
    for attempt in range(5):
        try:
            return image.evaluate(HASH_IMAGE)
        except Exception:
            if attempt == 4:
                raise
            time.sleep(0.5)


def test_panel_in_jupyterlab(chromium: str, jupyterlab) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, token, notebook, log_path = jupyterlab
    stem = Path(notebook).stem
    (SCREENSHOT_DIR / f"{stem}-FAILED.png").unlink(missing_ok=True)  # from an earlier run
    with sync_playwright() as playwright:
        start = time.perf_counter()
        try:
            browser = playwright.chromium.launch(
                executable_path=chromium, headless=True, timeout=120_000,
                args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                      "--disable-background-networking", "--disable-component-update",
                      "--disable-default-apps", "--disable-extensions", "--disable-sync",
                      "--no-first-run", "--no-default-browser-check", "--metrics-recording-only",
                      "--mute-audio"])
        except Exception as error:
            raise AssertionError(f"phase 'launch browser' failed ({chromium}): {error}") from None
        print(f"[browser] launch browser: {time.perf_counter() - start:.1f} s ({chromium})")
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            console_errors: list[str] = []
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            phase = Phases(page, stem)
            try:
                _drive(page, phase, expect, base, token, notebook)
            except AssertionError as error:
                tail = log_path.read_text(errors="replace")[-2000:]
                console = "\n".join(console_errors[-10:]) or "(none)"
                raise AssertionError(f"{error}\n  browser console errors:\n{console}\n"
                                     f"  JupyterLab log (tail):\n{tail}") from None
            print(f"[browser] timings: {phase.summary()}")
        finally:
            browser.close()


def _drive(page, phase: Phases, expect, base: str, token: str, notebook: str) -> None:
    stem = Path(notebook).stem

    with phase("open notebook"):
        page.goto(f"{base}/lab/tree/{notebook}?token={token}", wait_until="domcontentloaded",
                  timeout=PAGE_TIMEOUT * 1000)
        expect(page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first).to_be_visible(
            timeout=PAGE_TIMEOUT * 1000)
        # the status bar's "<kernel> | Idle"; the toolbar's indicator says idle before a kernel exists
        _wait(lambda: _kernel_idle(page), PAGE_TIMEOUT,
              lambda: f"the kernel never became idle (status bar: {_kernel_state(page)!r})")

    with phase("run all cells"):
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu .lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()

        def started():
            return any(re.fullmatch(r"\[(\*|\d+)\]:", p) for p in page.evaluate(PROMPTS))

        def finished():
            _no_dialog(page)
            prompts = page.evaluate(PROMPTS)
            return _kernel_idle(page) and "[*]:" not in prompts and prompts

        _wait(lambda: _no_dialog(page) or started(), 120, "no cell started running after Run > Run All Cells")
        prompts = _wait(finished, RUN_ALL_TIMEOUT, "the cells did not finish running")
        errors = page.evaluate(ERRORS)
        assert not errors, "a cell raised:\n" + errors[0][-1500:]
        not_run = [i for i, p in enumerate(prompts) if not re.fullmatch(r"\[\d+\]:", p)]
        assert not not_run, f"code cells {not_run} did not run (prompts {prompts})"
        print(f"[browser]   {len(prompts)} code cells ran")

    with phase("panel renders"):
        run_button = page.locator("button.widget-button", has_text=RUN)
        panel = (page.locator(".jp-OutputArea-output .widget-vbox")
                 .filter(has=run_button).filter(has=page.locator("img.widget-image"))
                 .filter(has=page.locator(".widget-slider")).first)
        expect(panel, "no OptimizationPanel (a box with sliders, a Run button and a preview image)"
               ).to_be_visible(timeout=PANEL_TIMEOUT * 1000)
        panel.scroll_into_view_if_needed()
        run = panel.locator("button.widget-button", has_text=RUN)
        stop = panel.locator("button.widget-button", has_text=STOP)
        buttons = panel.locator(".widget-hbox").filter(has=run_button).first  # `has` takes page-rooted locators
        status = buttons.locator(".widget-html-content").first
        preview = panel.locator(".widget-hbox").filter(has=page.locator("img.widget-image")).last \
            .locator("img.widget-image").first
        sliders = panel.locator(".widget-slider")
        slider = sliders.filter(has_text=SLIDER).first if SLIDER else sliders.first
        expect(run).to_be_visible()
        expect(stop).to_be_visible()
        expect(slider).to_be_visible()
        expect(preview).to_be_visible()
        # show() ran the default settings; the panel says how that went
        expect(status, "the panel's default run did not finish").to_have_text(FINISHED, timeout=PANEL_TIMEOUT * 1000)
        first_status = status.inner_text().strip()
        assert not first_status.startswith("error"), f"the panel's default run failed: {first_status}"
        expect(run).to_be_enabled()
        expect(stop).to_be_disabled()
        before = _image_hash(preview)
        print(f"[browser]   {sliders.count()} slider(s); status: {first_status!r}; preview {before[:12]}")

    with phase("move slider"):
        label = slider.locator(".widget-label").first.inner_text().strip()
        readout = slider.locator(".widget-readout").first
        old_value = readout.inner_text().strip()
        handle = slider.locator(".noUi-handle").first
        handle.focus()
        handle.press("ArrowRight")
        if readout.inner_text().strip() == old_value:  # at its maximum: one step down instead
            handle.press("ArrowLeft")
        expect(readout, f"slider {label!r} did not move").not_to_have_text(old_value, timeout=10_000)
        new_value = readout.inner_text().strip()
        print(f"[browser]   slider {label!r}: {old_value} -> {new_value}")

    with phase("press Run"):
        page.evaluate(WATCH, [status.element_handle(), preview.element_handle()])
        run.click()

        def done():
            seen = page.evaluate("() => window.__nstWatch.statuses")
            text = status.inner_text().strip()
            ran = any(not FINISHED.match(s) for s in seen if s) or text != first_status
            return text if ran and FINISHED.match(text) and run.is_enabled() else None

        final_status = _wait(done, RUN_TIMEOUT, "the panel did not report a finished run after Run")
        assert final_status.startswith("done in"), f"the run did not finish normally: {final_status!r}"
        watch = page.evaluate("() => window.__nstWatch")
        print(f"[browser]   status: {final_status!r}; preview redrawn {watch['previews']} time(s)")

    with phase("preview changed"):
        after = _wait(lambda: (h := _image_hash(preview)) != before and h, 30,
                      f"the preview image is unchanged after Run (sha256 {before[:12]}…)")
        expect(preview).to_be_visible()
        colours = preview.evaluate(IMAGE_COLOURS)
        assert colours > 1, "the new preview is blank (not decoded, or one uniform colour)"
        print(f"[browser]   preview {before[:12]} -> {after[:12]}")

    with phase("screenshots"):
        shots = _save(lambda path: page.screenshot(path=path, full_page=True), f"{stem}-page.png")
        shots += _save(lambda path: panel.screenshot(path=path), f"{stem}-panel.png")
        for path in shots:
            assert Path(path).is_file() and Path(path).stat().st_size > 0, f"no screenshot at {path}"
        print(f"[browser]   screenshots: {', '.join(shots)}")
