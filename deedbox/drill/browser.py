"""The browser the drill's web check drives: a small ``Page`` protocol, and headless Chromium.

Selenium drives the system's chromium through the system's chromedriver, both found by path
(``DEEDBOX_CHROMIUM``/``DEEDBOX_CHROMEDRIVER`` override PATH): with the driver's path given,
Selenium never runs Selenium Manager, so nothing is downloaded. Any other browser plugs in as a
``BrowserFactory`` returning a ``Page``. Used by the drill (``deedbox.drill.web``) and by the tests
that look at deedbox's own pages (report.html, the status page).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from deedbox.errors import EnvironmentProblem

CREDENTIAL_PREFIXES = ("CONVEX_", "AWS_")  # the runner's admin credentials never reach the app
POLL_S = 0.2
CHROMIUM_ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,900")
INSTALL_BROWSER = "apt-get install chromium chromium-driver"


class StepError(Exception):
    """A step did not happen; the message says what was expected and what was found."""


class Page(Protocol):
    """The browser as the steps see it. Every method raises ``StepError`` with a one-line detail."""

    def goto(self, url: str, timeout_s: float) -> None: ...
    def fill(self, selector: str, value: str, timeout_s: float) -> None: ...
    def click(self, selector: str, timeout_s: float) -> None: ...
    def texts(self, selector: str | None) -> list[str]:
        """The page body's text (``selector`` None), else the text of each matching element."""
        ...
    def screenshot(self) -> bytes: ...
    def quit(self) -> None: ...


BrowserFactory = Callable[[], Page]


# --------------------------------------------------------------------------- Chromium via Selenium

def find_browser(env: Mapping[str, str]) -> tuple[str, str]:
    """``(chromium, chromedriver)`` paths; ``EnvironmentProblem`` naming what is missing."""
    if importlib.util.find_spec("selenium") is None:
        raise EnvironmentProblem("the drill's browser check needs selenium, which is not installed: pip install selenium")
    return (_binary(env, "DEEDBOX_CHROMIUM", ("chromium", "chromium-browser"), "Chromium"),
            _binary(env, "DEEDBOX_CHROMEDRIVER", ("chromedriver",), "chromedriver"))


def _binary(env: Mapping[str, str], override: str, names: Sequence[str], what: str) -> str:
    given = env.get(override)
    if given:
        if os.path.isfile(given) and os.access(given, os.X_OK):
            return given
        raise EnvironmentProblem(f"{override}={given} is not an executable file; unset it or point it at {what}")
    found = next((p for p in (shutil.which(n, path=env.get("PATH", os.defpath)) for n in names) if p), None)
    if found is None:
        raise EnvironmentProblem(f"the drill's browser check needs {what}, which is not installed: "
                                 f"{INSTALL_BROWSER} (or set {override})")
    return found


def chromium(env: Mapping[str, str]) -> BrowserFactory:
    """A factory of headless Chromium pages; checks now that selenium and both binaries exist."""
    binary, driver = find_browser(env)
    browser_env = {k: v for k, v in env.items() if not k.startswith(CREDENTIAL_PREFIXES)}
    return functools.partial(_open_chromium, binary, driver, browser_env)


def _open_chromium(binary: str, driver: str, env: Mapping[str, str]) -> Page:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    service = Service(executable_path=driver, env=env, log_output=subprocess.DEVNULL)
    try:
        return SeleniumPage(webdriver.Chrome(service=service, options=options))
    except WebDriverException as err:
        raise EnvironmentProblem(f"Chromium did not start ({binary} through {driver}): {_first_line(err.msg)}") from None


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else "no message"


@contextlib.contextmanager
def _webdriver(timed_out: str) -> Iterator[None]:
    """Selenium's exceptions as StepError: ``timed_out`` on a timeout, else the first line."""
    from selenium.common.exceptions import InvalidSelectorException, TimeoutException, WebDriverException

    try:
        yield
    except InvalidSelectorException:
        raise StepError(f"invalid CSS selector ({timed_out})") from None
    except TimeoutException:
        raise StepError(timed_out) from None
    except WebDriverException as err:
        raise StepError(f"the browser failed: {_first_line(err.msg)}") from None


class SeleniumPage:
    """``Page`` over a Selenium WebDriver."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def goto(self, url: str, timeout_s: float) -> None:
        with _webdriver(f"{url} did not load within {timeout_s:g} s"):
            self.driver.set_page_load_timeout(timeout_s)
            self.driver.get(url)

    def fill(self, selector: str, value: str, timeout_s: float) -> None:
        with _webdriver(f"no element matches `{selector}` after {timeout_s:g} s"):
            element = self._wait(selector, timeout_s, clickable=False)
            element.clear()
            element.send_keys(value)

    def click(self, selector: str, timeout_s: float) -> None:
        with _webdriver(f"no clickable element matches `{selector}` after {timeout_s:g} s"):
            self._wait(selector, timeout_s, clickable=True).click()

    def _wait(self, selector: str, timeout_s: float, *, clickable: bool) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        found = ec.element_to_be_clickable if clickable else ec.presence_of_element_located
        return WebDriverWait(self.driver, timeout_s, poll_frequency=POLL_S).until(found((By.CSS_SELECTOR, selector)))

    def texts(self, selector: str | None) -> list[str]:
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.common.by import By

        for _ in range(3):  # the page may re-render between finding and reading
            with _webdriver(f"`{selector}`"), contextlib.suppress(StaleElementReferenceException):
                if selector is None:
                    return [self.driver.find_element(By.TAG_NAME, "body").text]
                return [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, selector)]
        return []

    def screenshot(self) -> bytes:
        with _webdriver("the screenshot timed out"):
            return bytes(self.driver.get_screenshot_as_png())

    def quit(self) -> None:
        from selenium.common.exceptions import WebDriverException

        with contextlib.suppress(WebDriverException, OSError):
            self.driver.quit()

