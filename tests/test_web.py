"""The practice site in real browsers: Debian's Chromium and WebKit (the engine of Safari and of every
browser on an iPhone), each driven by selenium (see browsers.py). For one variant of every family and
for conceptual items, in both engines: maths has layout size, figures load, the verified answers are
marked correct, a wrong number incorrect, the solution appears, no network request is made and
(Chromium, whose logs selenium reads) the console stays clean; at phone width nothing scrolls sideways."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from browsers import ENGINES, set_width, start
from conftest import ROOT, run_qbank

pytestmark = pytest.mark.browser

FILL = """
const section = document.querySelector('[data-qbank-variant]:not([hidden])');
const key = JSON.parse(atob(section.querySelector('[data-qbank-key]').textContent.trim()));
const wrong = arguments[0];
let filled = 0, spoiled = null;
for (const [name, spec] of Object.entries(key.answers)) {
  if (spec.list) {  // one field for every entry (its size is asked elsewhere): a row per line, a blank line between channels
    const rows = m => m.map(r => r.join(', ')).join('\\n');
    const field = section.querySelector(`[data-qbank-answer="${name}"]`);
    field.value = spec.list === 'tensor' ? spec.value.map(rows).join('\\n\\n') : rows(spec.list === 'matrix' ? spec.value : [spec.value]);
    field.dispatchEvent(new Event('input', {bubbles: true}));
    filled += spec.leaves.length;
    continue;
  }
  for (const [index, kind, value] of (spec.leaves || [])) {
    const sel = `[data-qbank-answer="${name}"]` + (index ? `[data-qbank-index="${index}"]` : ':not([data-qbank-index])');
    const inputs = section.querySelectorAll(sel);
    if (kind === 'boolean') {
      inputs.forEach(i => { if (i.value === String(value)) i.click(); });
    } else {
      let text = String(value);
      if (wrong && spoiled === null && kind === 'number') { text = String(value + 1 + Math.abs(value)); spoiled = name; }
      inputs[0].value = text;
      inputs[0].dispatchEvent(new Event('input', {bubbles: true}));
    }
    filled++;
  }
}
section.querySelector('[data-qbank-check]').click();
const states = {};
section.querySelectorAll('[data-qbank-result]').forEach(r => { states[r.getAttribute('data-qbank-result')] = r.getAttribute('data-qbank-state'); });
return {filled, states, spoiled};
"""

LAYOUT = """
const section = document.querySelector('[data-qbank-variant]:not([hidden])');
const maths = [...section.querySelectorAll('.qbank-problem math')].map(m => m.getBoundingClientRect());
const imgs = [...section.querySelectorAll('img')].map(i => ({src: i.src, ok: i.complete && i.naturalWidth > 0, w: i.closest('[hidden]') ? 1 : i.getBoundingClientRect().width}));
return {maths: maths.length, sized: maths.filter(r => r.width > 0 && r.height > 0).length, imgs,
        overflow: document.documentElement.scrollWidth - window.innerWidth};
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    proc = run_qbank("site", "--variants", "1", "--seed", "11", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module", params=ENGINES)
def browser(request):
    """One browser per engine for the whole module (the tests run engine by engine)."""
    with start(request.param) as driver:
        driver.engine = request.param
        yield driver


# what the page fetched: resource timing, which both engines keep (file: and data: URLs are the site's own)
RESOURCES = "return performance.getEntriesByType('resource').map(e => e.name)"


def requests_and_errors(driver) -> tuple[list[str], list[str]]:
    """URLs the page requested outside the site, and the console's errors and warnings. Chromium's
    DevTools logs show every request and message; WebKit's driver has no logs, so there the page's
    resource timing (every fetch it made, blocked ones excepted) stands for the requests."""
    if driver.engine != "chromium":
        urls = driver.execute_script(RESOURCES)
        return [u for u in urls if not u.startswith(("file://", "data:"))], []
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    return [u for u in urls if not u.startswith(("file://", "data:"))], errors


def family_pages(site: Path) -> list[Path]:
    records = json.loads((site / "site.json").read_text())["variants"]
    return sorted({site / r["page"] for r in records if r["family"]})


def test_every_family_page_checks_the_verified_answers(site, browser):
    pages = family_pages(site)
    from qbank.registry import all_families

    assert len(pages) == len(all_families())  # a page per registered family
    for page in pages:
        browser.get(page.as_uri())
        layout = browser.execute_script(LAYOUT)
        assert layout["maths"] > 0 and layout["sized"] == layout["maths"], (page.name, layout)
        assert all(img["ok"] and img["w"] > 0 for img in layout["imgs"]), (page.name, layout["imgs"])
        assert layout["overflow"] <= 0, (browser.engine, page.name, "the page scrolls sideways")
        result = browser.execute_script(FILL, False)
        assert result["filled"] > 0 and set(result["states"].values()) == {"correct"}, (page.name, result)
        result = browser.execute_script(FILL, True)
        if result["spoiled"]:
            assert result["states"][result["spoiled"]] == "incorrect", (page.name, result)
        body = browser.find_element("css selector", "[data-qbank-variant]:not([hidden]) [data-qbank-solution-body]")
        assert not body.is_displayed()
        browser.find_element("css selector", "[data-qbank-variant]:not([hidden]) [data-qbank-solution]").click()
        assert body.is_displayed() and "Answer" in body.text
        outside, errors = requests_and_errors(browser)
        assert not outside, (page.name, outside)
        assert not errors, (page.name, errors)


def test_multiple_choice_written_and_table_items(site, browser):
    records = {r["item"]: r for r in json.loads((site / "site.json").read_text())["variants"] if r["item"]}
    browser.get((site / records["init-sigmoid-unit"]["page"]).as_uri())
    key = browser.execute_script("return JSON.parse(atob(document.querySelector('[data-qbank-key]').textContent.trim()))")
    correct = key["answers"]["choice"]["value"]
    radios = browser.find_elements("css selector", "[data-qbank-answer=choice]")
    radios[(correct + 1) % len(radios)].click()
    browser.find_element("css selector", "[data-qbank-check]").click()
    state = lambda: browser.find_element("css selector", "[data-qbank-result]").get_attribute("data-qbank-state")  # noqa: E731
    assert state() == "incorrect"
    radios[correct].click()
    browser.find_element("css selector", "[data-qbank-check]").click()
    assert state() == "correct"

    browser.get((site / records["why-convolutions-for-images"]["page"]).as_uri())
    browser.find_element("css selector", "textarea").send_keys("Locality and weight sharing.")
    browser.find_element("css selector", "[data-qbank-solution]").click()
    assert browser.find_element("css selector", "[data-qbank-solution-body]").is_displayed()
    assert state() == "compare"

    browser.get((site / records["building-block-inductive-biases"]["page"]).as_uri())
    cells = browser.find_elements("css selector", "table input, table textarea")
    assert len(cells) >= 6
    outside, errors = requests_and_errors(browser)
    assert not outside and not errors, (outside, errors)


def test_another_one_moves_to_the_next_variant_and_progress_is_kept(tmp_path, browser):
    out = tmp_path / "small"
    proc = run_qbank("site", "--topic", "cnn", "--variants", "3", "--seed", "4", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    page = out / "cnn" / "conv1d-forward.html"
    browser.get(page.as_uri())
    visible = lambda: [s.get_attribute("id") for s in browser.find_elements("css selector", "[data-qbank-variant]") if s.is_displayed()]  # noqa: E731
    assert visible() == ["conv1d-forward-1"]
    result = browser.execute_script(FILL, False)
    assert set(result["states"].values()) == {"correct"}
    browser.find_element("css selector", "[data-qbank-variant]:not([hidden]) [data-qbank-next]").click()
    assert visible() == ["conv1d-forward-2"]
    browser.get((out / "index.html").as_uri())
    assert "1 solved" in browser.find_element("css selector", "body").text


def test_phone_width_has_no_sideways_scroll(site, browser):
    set_width(browser, 360, 900)
    try:
        for page in family_pages(site):
            browser.get(page.as_uri())
            assert browser.execute_script(LAYOUT)["overflow"] <= 0, (browser.engine, page.name)
    finally:
        set_width(browser, 1200)


def test_draw_html_writes_one_page(tmp_path):
    out = tmp_path / "one"
    proc = run_qbank("draw", "beam-search", "--seed", "3", "--format", "html", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    page = (out / "index.html").read_text()
    assert 'data-qbank-variant="beam-search-3"' in page and "<math" in page and "figures/fig-" in page
    assert (out / "assets" / "qbank.js").is_file() and list((out / "figures").glob("*.svg"))
    again = tmp_path / "again"
    run_qbank("draw", "beam-search", "--seed", "3", "--format", "html", "--out", str(again))
    assert (again / "index.html").read_bytes() == (out / "index.html").read_bytes()  # deterministic
