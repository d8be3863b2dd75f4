"""The explorers work in a real browser: JupyterLab, in headless Chromium, runs each notebook
with an explorer, then a control of the explorer is moved as a student would move it and
its figure must redraw, with no "Error displaying widget" and no JavaScript error.

Needs Debian's ``chromium`` and ``chromium-driver``: the test installs them when it runs as
root or with password-less sudo, and skips otherwise. Deselect it with ``-m "not browser"``.
Screenshots of each step are saved in the test's ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: What an explorer is in the page: the ipywidgets VBox that holds the figure's Output.
EXPLORER = ".widget-vbox:has(> .widget-output)"


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab: where it answers and the token it asks for."""

    url: str
    token: str

    def api(self, path: str, method: str = "GET") -> list | dict | None:
        """Call the server's REST API and return the decoded JSON reply (``None`` if empty)."""
        request = urllib.request.Request(
            f"{self.url}/api/{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            body = reply.read()
        return json.loads(body) if body else None


# The controls moved in each notebook. Each move must redraw the explorer's figure.
def press_right_on_slider(explorer: WebElement) -> None:
    """Press → on the explorer's first slider (difficulty, depth d): one keyboard step up."""
    explorer.find_element(By.CSS_SELECTOR, ".noUi-handle").send_keys(Keys.ARROW_RIGHT)


def pick_next_in_dropdown(explorer: WebElement) -> None:
    """Choose the second entry of the explorer's first dropdown (the attention layer)."""
    Select(explorer.find_element(By.CSS_SELECTOR, ".widget-dropdown select")).select_by_index(1)


def toggle_channel_map(explorer: WebElement) -> None:
    """Click the "channel" toggle button (the attention explorer shows "spatial" first)."""
    explorer.find_element(By.XPATH, ".//button[normalize-space()='channel']").click()


MOVES: dict[str, list[Callable[[WebElement], None]]] = {
    "00_data_tour.ipynb": [press_right_on_slider],
    "02_dice_and_tanimoto.ipynb": [press_right_on_slider],
    "03_fractal_attention.ipynb": [pick_next_in_dropdown, toggle_channel_map],
}

# JavaScript run in the page; `jupyterapp` is there because the server is started with
# --expose-app-in-browser. Waits until the notebook's kernel is ready.
KERNEL_READY_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  while (!window.jupyterapp?.shell.currentWidget?.sessionContext) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const notebook = jupyterapp.shell.currentWidget;
  await notebook.context.ready;
  await notebook.sessionContext.ready;
})().then(() => done(null), (error) => done(String(error)));
"""
# The notebook's progress: kernel status, code cells not run yet, and the errors cells raised.
PROGRESS_JS = """
const notebook = jupyterapp.shell.currentWidget;
const cells = notebook.content.widgets.filter((cell) => cell.model.type === "code");
const outputs = cells.flatMap((cell) => cell.model.outputs.toJSON());
return {
  kernel: notebook.sessionContext.session?.kernel?.status,
  waiting: cells.filter((cell) => cell.model.executionCount === null).length,
  errors: outputs.filter((o) => o.output_type === "error").map((o) => `${o.ename}: ${o.evalue}`),
};
"""
FIGURE_JS = "return arguments[0].querySelector('.widget-output img')?.src ?? null;"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _install_chromium() -> str:
    """Install Debian's chromium and chromium-driver with apt-get if this user may.

    Returns:
        What went wrong, for the skip message ("" when apt-get succeeded).
    """
    if os.geteuid() == 0:
        sudo = []
    elif (
        shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], check=False).returncode == 0
    ):
        sudo = ["sudo", "-n"]
    else:
        return "not root and no password-less sudo to install them"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command, timeout in (
        (["update"], 180),
        (["install", "-y", "chromium", "chromium-driver"], 300),
    ):
        try:
            done = subprocess.run(
                # Wait for a dpkg lock held by another apt-get (a system update, say).
                [*sudo, "apt-get", "-o", "DPkg::Lock::Timeout=60", *command],
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"apt-get {command[0]} failed: {error}"
        if done.returncode != 0:
            return f"apt-get {command[0]} failed: {done.stderr.strip()[-300:]}"
    return ""


@pytest.fixture(scope="session")
def chromedriver() -> Path:
    """Debian's chromedriver, installed first if need be; skips the test where it cannot be."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        problem = _install_chromium()
        if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
            pytest.skip(f"needs Debian's chromium and chromium-driver: {problem or 'not found'}")
    return CHROMEDRIVER


def _start_lab(notebooks: Path, home: Path) -> tuple[subprocess.Popen, Lab]:
    """Start JupyterLab on ``notebooks``, with its settings, runtime files and log in ``home``.

    The kernels run in quick mode on one OpenMP thread, import ``ceec_lab`` from this
    checkout (``PYTHONPATH``), and draw inline as in a student's ``make lab``.
    """
    port, token = _free_port(), os.urandom(16).hex()
    # No news or update pop-up over the notebook (it asks the first time JupyterLab opens).
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    env = {
        **os.environ,
        "CEEC_LAB_MODE": "quick",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    env.pop("MPLBACKEND", None)
    command = [
        *(sys.executable, "-m", "jupyterlab", "--no-browser", "--expose-app-in-browser"),
        *("--ip=127.0.0.1", f"--port={port}", f"--ServerApp.token={token}"),
        f"--notebook-dir={notebooks}",
        *(["--allow-root"] if os.geteuid() == 0 else []),
    ]
    with (home / "lab.log").open("w") as log:
        server = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    return server, Lab(f"http://127.0.0.1:{port}", token)


def _wait_until_serving(server: subprocess.Popen, lab: Lab, log: Path) -> None:
    for _ in range(240):
        assert server.poll() is None, f"JupyterLab exited early:\n{log.read_text()[-3000:]}"
        try:
            lab.api("status")
            return
        except OSError:  # not listening yet
            time.sleep(0.5)
    raise AssertionError(f"JupyterLab did not answer within 2 minutes:\n{log.read_text()[-3000:]}")


def _stop(server: subprocess.Popen) -> None:
    """Stop the server and its kernels: SIGTERM (it shuts the kernels down), SIGKILL if stuck."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except ProcessLookupError:  # it had exited already
        pass
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on a temporary copy of the notebooks (what the kernels write or JupyterLab
    autosaves stays there), shared by the tests of this module and stopped after them."""
    home = tmp_path_factory.mktemp("jupyterlab")
    notebooks = home / "notebooks"
    notebooks.mkdir()
    for name in MOVES:
        shutil.copyfile(ROOT / "notebooks" / name, notebooks / name)
    server, lab = _start_lab(notebooks, home)
    try:
        _wait_until_serving(server, lab, home / "lab.log")
        yield lab
    finally:
        _stop(server)


@pytest.fixture
def browser(chromedriver: Path, lab: Lab, tmp_path: Path) -> Iterator[webdriver.Chrome]:
    """Headless Chromium, 1280 px wide as in layout.py, logging the page's console.

    A fresh browser per notebook: leaving a notebook with unsaved outputs would ask
    "Leave site?". At the end it saves ``last.png`` and shuts the notebook's kernel down.
    """
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1280,1000")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(chromedriver)), options=options)
    try:
        yield driver
    finally:
        try:
            driver.save_screenshot(tmp_path / "last.png")
        finally:
            driver.quit()
            for session in lab.api("sessions"):
                lab.api(f"sessions/{session['id']}", method="DELETE")


def _run_all_cells(driver: webdriver.Chrome, lab: Lab, name: str) -> None:
    """Open notebook ``name`` in a fresh workspace, run all its cells and wait until the
    kernel is idle with every code cell run; fail with the errors of any cell that raised."""
    driver.get(f"{lab.url}/lab/tree/{name}?reset&token={lab.token}")
    driver.set_script_timeout(120)
    problem = driver.execute_async_script(KERNEL_READY_JS)
    assert problem is None, f"{name}: the notebook's kernel did not start: {problem}"
    driver.execute_script("jupyterapp.commands.execute('notebook:run-all-cells')")
    deadline = time.monotonic() + 300
    while True:
        progress = driver.execute_script(PROGRESS_JS)
        if progress["errors"] or (progress["kernel"] == "idle" and not progress["waiting"]):
            break
        assert time.monotonic() < deadline, f"{name}: cells still running after 5 min: {progress}"
        time.sleep(1)
    assert not progress["errors"], f"{name}: cells raised {progress['errors']}"


def _figure(driver: webdriver.Chrome, explorer: WebElement, changed_from: str | None = None) -> str:
    """The explorer's figure (a PNG data URL) once drawn and different from ``changed_from``."""
    WebDriverWait(driver, 60, poll_frequency=0.2).until(
        lambda _: driver.execute_script(FIGURE_JS, explorer) not in (None, changed_from),
        message="the explorer's figure did not " + ("redraw" if changed_from else "appear"),
    )
    return driver.execute_script(FIGURE_JS, explorer)


@pytest.mark.browser
@pytest.mark.xdist_group("browser")  # one worker, so the notebooks share one JupyterLab
@pytest.mark.parametrize("name", list(MOVES))
def test_explorer_redraws_in_the_browser(
    name: str, browser: webdriver.Chrome, lab: Lab, tmp_path: Path
) -> None:
    _run_all_cells(browser, lab, name)
    explorers = browser.find_elements(By.CSS_SELECTOR, EXPLORER)
    assert len(explorers) == 1, f"{name}: expected one explorer, found {len(explorers)}"
    explorer = explorers[0]
    browser.execute_script("arguments[0].scrollIntoView()", explorer)
    figure = _figure(browser, explorer)
    browser.save_screenshot(tmp_path / "0-ran.png")
    for step, move in enumerate(MOVES[name], start=1):
        move(explorer)
        figure = _figure(browser, explorer, changed_from=figure)
        browser.save_screenshot(tmp_path / f"{step}-{move.__name__}.png")
    page = browser.execute_script("return document.body.textContent")
    assert "Error displaying widget" not in page, f"{name}: a widget failed to display"
    errors = [
        entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"
    ]
    assert not errors, f"{name}: JavaScript errors in the page: {errors}"
