"""The maths of every family's page, measured in real browsers (Chromium and WebKit, see browsers.py),
one variant each, problem and solution shown:

- every accent of the LaTeX (\\hat, \\tilde, \\bar, \\vec, \\dot, \\widehat, ...), read from each formula's
  TeX annotation, is a <mover accent="true"> whose accent is that accent's spacing character, drawn
  with a visible box over its base: not beside it, not lost in it, not floating a line above;
- every cell of an aligned equation, array or matrix holds its maths (WebKit garbled cells under the
  legacy -webkit-* alignment) and sits where its columnalign says: right, left or centred;
- an operator name (\\log, \\max, \\tanh, \\operatorname) has TeX's thin space after an ordinary symbol
  before it and before an ordinary argument after it (`-y \\log \\hat y`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

from browsers import ENGINES, start
from conftest import run_qbank

pytestmark = pytest.mark.browser

# each accent command and the spacing characters that draw it (written apart from qbank.html.convert)
ACCENT_CHARS = {
    "hat": "\u02c6^", "widehat": "\u02c6^", "check": "\u02c7", "widecheck": "\u02c7", "tilde": "\u02dc~",
    "widetilde": "\u02dc~", "bar": "\u00af\u203e\u2015", "overline": "\u00af\u203e\u2015", "vec": "\u2192",
    "overrightarrow": "\u2192", "overleftarrow": "\u2190", "overleftrightarrow": "\u2194", "dot": "\u02d9",
    "ddot": "\u00a8", "dddot": "\u02d9", "acute": "\u00b4", "grave": "`", "breve": "\u02d8", "mathring": "\u02da",
}
ACCENT = re.compile(r"\\(" + "|".join(sorted(ACCENT_CHARS, key=len, reverse=True)) + r")(?![A-Za-z@])")

SHOW_ALL = """
document.querySelectorAll('[data-qbank-solution-body]').forEach(b => { b.hidden = false; });
"""

ACCENTS = """
const section = document.querySelector('[data-qbank-variant]:not([hidden])');
return [...section.querySelectorAll('math')].map(math => {
  const annotation = math.querySelector('annotation');
  const em = parseFloat(getComputedStyle(math).fontSize);
  const movers = [...math.querySelectorAll('mover[accent="true"]')].filter(m => m.children.length === 2);
  return {tex: annotation ? annotation.textContent : '', em, accents: movers.map(m => {
    const b = m.children[0].getBoundingClientRect(), a = m.children[1].getBoundingClientRect();
    return {tag: m.children[1].localName, char: m.children[1].textContent, base: m.children[0].textContent,
            w: a.width / em, h: a.height / em, center: ((a.left + a.right) / 2 - b.left) / b.width,
            top: (b.top - a.top) / em};
  })};
});
"""

CELLS = """
const section = document.querySelector('[data-qbank-variant]:not([hidden])');
const out = [];
section.querySelectorAll('mtd').forEach(td => {
  const r = td.getBoundingClientRect();
  const range = document.createRange(); range.selectNodeContents(td);
  // an explicit space the LaTeX starts the cell with (`&\\quad + ...`) is part of where it wants it
  let first = td.firstElementChild, space = null;
  while (first && first.localName === 'mspace') { space = first; first = first.nextElementSibling; }
  if (first) range.setStartBefore(first);
  const q = range.getBoundingClientRect();
  if (!q.width || !r.width) return;
  const cs = getComputedStyle(td), em = parseFloat(cs.fontSize);
  const math = td.closest('math'), annotation = math.querySelector('annotation');
  out.push({align: td.getAttribute('columnalign') || 'center', text: td.textContent.slice(0, 40),
            tex: annotation ? annotation.textContent.slice(0, 80) : '',
            left: (q.left - (space ? space.getBoundingClientRect().right : r.left + parseFloat(cs.paddingLeft))) / em,
            right: (r.right - parseFloat(cs.paddingRight) - q.right) / em,
            outside: Math.max(r.left - q.left, q.right - r.right, r.top - q.top, q.bottom - r.bottom) / em});
});
return out;
"""

OPERATORS = """
const section = document.querySelector('[data-qbank-variant]:not([hidden])');
const ORDINARY = new Set(['mi', 'mn', 'mover', 'msub', 'msup', 'msubsup', 'mfrac', 'msqrt']);
const out = [];
for (const name of section.querySelectorAll('mi[mathvariant="normal"]')) {
  if (name.textContent.length < 2) continue;
  const apply = name.nextElementSibling;
  let atom;
  if (apply && apply.localName === 'mo' && apply.textContent === '\\u2061') atom = name.parentElement;
  else if (!apply && name.parentElement.localName === 'munder' && name === name.parentElement.firstElementChild) atom = name.parentElement;
  else continue;  // an upright word (\\mathrm{ReLU}), not an operator
  if (['msub', 'msup', 'msubsup', 'munder', 'munderover'].includes(atom.parentElement.localName)
      && atom === atom.parentElement.firstElementChild) atom = atom.parentElement;
  const em = parseFloat(getComputedStyle(name).fontSize);
  const box = atom.getBoundingClientRect(), word = name.getBoundingClientRect();
  const math = name.closest('math'), annotation = math.querySelector('annotation');
  const tex = annotation ? annotation.textContent.slice(0, 80) : '';
  // the thin space qbank writes is an <mspace>: the neighbours are the symbols beyond it
  let before = atom.previousElementSibling, after = atom.nextElementSibling;
  while (before && before.localName === 'mspace') before = before.previousElementSibling;
  while (after && after.localName === 'mspace') after = after.nextElementSibling;
  if (before && ORDINARY.has(before.localName))
    out.push({side: 'before', op: name.textContent, other: before.textContent, tex,
              gap: (word.left - before.getBoundingClientRect().right) / em});
  if (after && ORDINARY.has(after.localName))
    out.push({side: 'after', op: name.textContent, other: after.textContent, tex,
              gap: (after.getBoundingClientRect().left - box.right) / em});
}
return out;
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("maths-site") / "site"
    proc = run_qbank("site", "--variants", "1", "--seed", "11", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module", params=ENGINES)
def browser(request):
    with start(request.param) as driver:
        driver.engine = request.param
        yield driver


def family_pages(site: Path) -> list[Path]:
    records = json.loads((site / "site.json").read_text())["variants"]
    return sorted({site / r["page"] for r in records if r["family"]})


def measured(browser, site: Path, script: str) -> dict[str, list]:
    """`script`'s result on every family page, solutions shown, by page name."""
    results = {}
    for page in family_pages(site):
        browser.get(page.as_uri())
        browser.execute_script(SHOW_ALL)
        results[page.stem] = browser.execute_script(script)
    return results


def test_every_accent_of_the_latex_is_drawn_over_its_base(site, browser):
    problems, counted = [], 0
    for page, maths in measured(browser, site, ACCENTS).items():
        for math in maths:
            commands = ACCENT.findall(math["tex"])
            where = f"{browser.engine} {page} `{math['tex'][:60]}`"
            if len(commands) != len(math["accents"]):
                problems.append(f"{where}: {len(commands)} accent(s) in the TeX, {len(math['accents'])} drawn as accents")
                continue
            for command, accent in zip(commands, math["accents"]):
                counted += 1
                what = f"{where}: \\{command} over {accent['base']!r}"
                char = accent["char"]
                if accent["tag"] != "mo" or not char or char[0] not in ACCENT_CHARS[command]:
                    problems.append(f"{what} is drawn with {char!r}, not {ACCENT_CHARS[command]!r}")
                elif any(unicodedata.combining(c) for c in char):
                    problems.append(f"{what} is a combining character {char!r}")
                elif accent["w"] < 0.2 or accent["h"] <= 0:
                    problems.append(f"{what} has no visible box ({accent['w']:.2f} x {accent['h']:.2f} em)")
                elif not 0.15 <= accent["center"] <= 0.85:
                    problems.append(f"{what} is not over its base (centre at {accent['center']:.2f} of its width)")
                elif not 0.05 <= accent["top"] <= 0.6:
                    # the accent's box (glyph box in Chromium, line box in WebKit) reaches this far above
                    # the base: 0.2-0.35 em when it sits on it, 0.67 em when WebKit's floats a line up
                    problems.append(f"{what} reaches {accent['top']:.2f} em above its base (expected 0.05-0.6)")
    assert not problems, f"{len(problems)} accent(s) wrong:\n" + "\n".join(problems[:20])
    # \hat y, \hat w, \hat W, \tilde ...: families use accents in about a dozen pages
    assert counted >= 20, counted


def test_table_cells_hold_their_maths_where_columnalign_says(site, browser):
    problems, counted = [], 0
    for page, cells in measured(browser, site, CELLS).items():
        for cell in cells:
            counted += 1
            what = f"{browser.engine} {page} `{cell['tex']}` cell {cell['text']!r}"
            if cell["outside"] > 0.25:
                problems.append(f"{what}: its maths reaches {cell['outside']:.2f} em outside the cell")
            elif cell["align"] == "right" and cell["right"] > 0.25:
                problems.append(f"{what}: right-aligned, but {cell['right']:.2f} em from the right")
            elif cell["align"] == "left" and cell["left"] > 0.35:  # `&= ...`: the relation's own space, 0.28 em
                problems.append(f"{what}: left-aligned, but {cell['left']:.2f} em from the left")
            elif cell["align"] == "center" and abs(cell["left"] - cell["right"]) > 0.25:
                problems.append(f"{what}: centred, but {cell['left']:.2f} em left and {cell['right']:.2f} em right")
    assert not problems, f"{len(problems)} cell(s) wrong:\n" + "\n".join(problems[:20])
    assert counted >= 200, counted


def test_operator_names_keep_the_thin_spaces_of_tex(site, browser):
    problems, counted = [], 0
    for page, gaps in measured(browser, site, OPERATORS).items():
        for gap in gaps:
            counted += 1
            if gap["gap"] < 0.1:
                problems.append(f"{browser.engine} {page} `{gap['tex']}`: {gap['gap']:.3f} em between {gap['op']!r} "
                                f"and {gap['other']!r} ({gap['side']} it; TeX puts a thin space, 0.167 em)")
    assert not problems, f"{len(problems)} operator name(s) crowded:\n" + "\n".join(problems[:20])
    assert counted >= 10, counted
