"""Real browsers for the tests of the HTML pages, driven by selenium: Debian's Chromium (chromium +
chromium-driver, headless) and WebKit, the engine of Safari and of every browser on an iPhone
(webkit2gtk-driver's WebKitWebDriver and its MiniBrowser, on a private Xvfb display). A test module
parametrizes its browser fixture over ENGINES and calls start(engine); an engine that is not installed
is a skip that says what to install."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

ENGINES = ("chromium", "webkit")
INSTALL = {
    "chromium": "Debian's chromium and chromium-driver",
    "webkit": "Debian's webkit2gtk-driver and xvfb",
}
# WebKitGTK under Xvfb draws blank pages without these (no GPU, no DMA-BUF, no compositor)
WEBKIT_ENV = {"WEBKIT_DISABLE_DMABUF_RENDERER": "1", "WEBKIT_DISABLE_COMPOSITING_MODE": "1", "LIBGL_ALWAYS_SOFTWARE": "1"}
WIDTH, HEIGHT = 1200, 1600


def missing(engine: str) -> str | None:
    """Why `engine` cannot run here (None when it can)."""
    tools = {"chromium": ("chromium", "chromedriver"), "webkit": ("WebKitWebDriver", "Xvfb")}[engine]
    absent = [tool for tool in tools if not shutil.which(tool)]
    if absent:
        return f"{engine}: {', '.join(absent)} not installed (make installs {INSTALL[engine]})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


@contextmanager
def _xvfb() -> Iterator[str]:
    """A private X display (`:N`) for as long as the block runs."""
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1920x2400x24", "-nolisten", "tcp"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--window-size={WIDTH},{HEIGHT}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)


def _webkit(display: str):
    from selenium import webdriver
    from selenium.webdriver.webkitgtk.options import Options
    from selenium.webdriver.webkitgtk.service import Service

    env = {**os.environ, **WEBKIT_ENV, "DISPLAY": display}
    service = Service(executable_path=shutil.which("WebKitWebDriver"), env=env)
    driver = webdriver.WebKitGTK(service=service, options=Options())
    driver.set_window_size(WIDTH, HEIGHT)
    return driver


@contextmanager
def start(engine: str):
    """A driver of `engine` (skips the tests when it is not installed), quit at the end."""
    reason = missing(engine)
    if reason:
        pytest.skip(reason)
    if engine == "chromium":
        driver = _chromium()
        try:
            yield driver
        finally:
            driver.quit()
        return
    with _xvfb() as display:
        driver = _webkit(display)
        try:
            yield driver
        finally:
            driver.quit()


def set_width(driver, width: int, height: int = HEIGHT) -> None:
    """A viewport `width` CSS pixels wide (the window has no frame in either engine here)."""
    driver.set_window_size(width, height)
