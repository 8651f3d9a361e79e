"""The status page in a real browser: headless Chromium (Debian's chromium and chromium-driver) through
Selenium, with JavaScript off, against a running daemon. It saves a screenshot in tests/artifacts/.

Skipped, with the reason, where Chromium is not installed, unless PRESSWATCH_REQUIRE_BROWSER=1 (CI sets it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers_web import World, running_world

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).parent / "artifacts"
# The machine's closed network refuses Chromium's background connections: switch them off.
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--window-size=1280,2400", "--hide-scrollbars", "--lang=en-US")

pytestmark = pytest.mark.timeout(180)


def _require_browser() -> None:
    if CHROMIUM.exists() and DRIVER.exists():
        return
    reason = f"headless Chromium is not installed ({CHROMIUM} and {DRIVER}; Debian: chromium chromium-driver)"
    if os.environ.get("PRESSWATCH_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + ", and PRESSWATCH_REQUIRE_BROWSER=1")
    pytest.skip(reason)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    # The page must work without JavaScript: the browser runs none.
    options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    # The driver named explicitly: Selenium Manager never tries to download one.
    driver = webdriver.Chrome(service=Service(executable_path=str(DRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    _require_browser()
    with running_world(tmp_path) as built:
        yield built


def test_a_person_sees_accounts_countries_and_the_chart_and_can_follow_the_feed(browser: object,
                                                                                world: World) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(browser, WebDriver)
    browser.get(world.url + "/")
    assert browser.title == "Press accounts watch"
    seen = browser.find_element(By.TAG_NAME, "main").text
    for words in ("@tr_journo", "@activist", "@gone_one", "Turkey", "India", "Withheld by country",
                  "Latest changes", "Ayşe"):
        assert words in seen, words
    assert "<b>" in seen  # the display name's markup shows as text, it is not obeyed
    cards = {card.find_element(By.CLASS_NAME, "label").text: card.find_element(By.CLASS_NAME, "count").text
             for card in browser.find_elements(By.CSS_SELECTOR, ".summary .card")}
    assert cards["Withheld in some countries"] == "1" and cards["Suspended"] == "1" and cards["Active"] == "2"
    chart = browser.find_element(By.CSS_SELECTOR, "figure.chart svg")
    assert chart.is_displayed() and chart.size["width"] > 600 and chart.size["height"] > 150
    assert chart.find_element(By.CSS_SELECTOR, "path.line").get_attribute("d")
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "status-page.png"))

    feed_link = browser.find_element(By.CSS_SELECTOR, 'nav a[type="application/atom+xml"]')
    assert feed_link.get_attribute("href") == browser.find_element(
        By.CSS_SELECTOR, 'link[rel="alternate"]').get_attribute("href")
    feed_link.click()
    assert browser.current_url == world.url + "/feed.atom"
    assert "@tr_journo withheld in India (IN)" in browser.page_source

    browser.get(world.url + "/countries/TR")
    assert "@tr_journo" in browser.find_element(By.TAG_NAME, "main").text
    assert browser.save_screenshot(str(ARTIFACTS / "country-page.png"))
