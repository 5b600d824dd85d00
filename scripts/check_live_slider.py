"""Check that a slider figure is live in a real JupyterLab: it renders as a widget and redraws.

Starts JupyterLab on localhost in a temporary folder holding a one-cell notebook
that builds the θ slider of chapter "Four ways to compare distributions", runs the
cell in headless Chromium, moves the slider with the keyboard as a student would,
and checks that the figure (an image widget) changes.

    python scripts/check_live_slider.py [--screenshots DIR]
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
from playwright.sync_api import sync_playwright

CELL = """\
import numpy as np
from course_utils.parallel_lines import theta_explorer
from course_utils.sliders import slider_figure

fig, update = theta_explorer(n=500, rng=np.random.default_rng(0))
slider_figure(fig, update, np.round(np.linspace(-1, 1, 21), 2), value=0.5)"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 90) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    sys.exit(f"JupyterLab did not answer at {url} within {seconds} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshots", type=Path, help="folder for before/after screenshots")
    args = parser.parse_args()
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory() as root:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, Path(root) / "slider.ipynb")
        port = free_port()
        lab = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
             f"--ServerApp.root_dir={root}", "--IdentityProvider.token=", "--ServerApp.password=",
             "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "COURSE_PROFILE": "ci"})
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/api/status")
            return check(f"{base}/lab/tree/slider.ipynb", args.screenshots)
        finally:
            lab.terminate()
            lab.wait(timeout=30)


def check(url: str, shots: Path | None) -> int:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(url)
        page.locator(".jp-Notebook .jp-Cell").first.click(timeout=60_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
        page.keyboard.press("Shift+Enter")
        image = page.locator(".jp-OutputArea .widget-image")
        image.wait_for(timeout=120_000)
        label = page.locator(".jp-OutputArea .widget-readout")
        before_src, before_value = image.get_attribute("src"), label.inner_text()
        if shots:
            page.screenshot(path=str(shots / "live-slider-before.png"))
        page.locator(".jp-OutputArea .widget-slider .noUi-handle").focus()
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        page.wait_for_function("(old) => document.querySelector('.jp-OutputArea .widget-image').src !== old",
                               arg=before_src, timeout=30_000)
        after_value = label.inner_text()
        if shots:
            page.screenshot(path=str(shots / "live-slider-after.png"))
        browser.close()
    print(f"live slider: θ {before_value} -> {after_value}, the figure was redrawn")
    return 0 if after_value != before_value else 1


if __name__ == "__main__":
    sys.exit(main())
