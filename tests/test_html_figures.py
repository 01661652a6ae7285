"""TikZ figures to SVG (qbank.html.figures): every family's figures compile, crop, scale, inline side
by side without id clashes, come from the cache the second time, and a broken one is named."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

from qbank.engine import draw
from qbank.errors import LatexError
from qbank.html import figures
from qbank.html.figures import Figure, compile_figures, extract_figures, figure_name
from qbank.registry import all_families
from qbank.render import render_fragments

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}href"


def family_figures() -> dict[str, list[Figure]]:
    """Each family that draws a figure (seed 0, problem and solution): its figures."""
    out = {}
    for fam in all_families():
        found = []
        for tex in render_fragments(draw(fam.id, 0)):
            text, figs = extract_figures(tex)
            assert "tikzpicture" not in text
            assert text.count("\\includegraphics{fig-") == len(re.findall(r"\\begin\{tikzpicture\}", tex))
            found += figs
        if found:
            out[fam.id] = found
    return out


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("svg-cache")


@pytest.fixture(scope="module")
def compiled(cache):
    by_family = family_figures()
    everything = [f for figs in by_family.values() for f in figs]
    return by_family, compile_figures(everything, cache_dir=cache, jobs=2)


def test_the_families_with_figures_are_found(compiled):
    by_family, _ = compiled
    assert {"beam-search", "relu-net-derivatives", "lstm-cell-backward", "scalar-rnn-backprop"} <= set(by_family)


def test_every_figure_is_a_scalable_svg(compiled):
    by_family, svgs = compiled
    for family, figs in by_family.items():
        for fig in figs:
            svg = svgs[fig.name]
            assert not svg.lstrip().startswith("<?xml"), "inlinable: no XML declaration"
            root = ET.fromstring(svg)
            assert root.tag == f"{SVG}svg"
            width, height = root.get("width"), root.get("height")
            assert width.endswith("pt") and height.endswith("pt"), (family, width, height)
            assert float(width[:-2]) > 0 and float(height[:-2]) > 0
            box = [float(v) for v in root.get("viewBox").split()]
            assert box[2:] == pytest.approx([float(width[:-2]), float(height[:-2])], rel=1e-3)
            # cropped to the picture: no page-sized canvas
            assert float(width[:-2]) < 500 and float(height[:-2]) < 700, (family, width, height)


def test_ids_are_unique_across_figures_and_references_resolve(compiled):
    _, svgs = compiled
    assert len(svgs) >= 2
    all_ids = Counter()
    for name, svg in svgs.items():
        root = ET.fromstring(svg)
        ids = [el.get("id") for el in root.iter() if el.get("id")]
        assert ids and all(i.startswith(f"{name}-") for i in ids)
        all_ids.update(ids)
        refs = [el.get(XLINK) or el.get("href") for el in root.iter() if el.get(XLINK) or el.get("href")]
        refs += re.findall(r"url\(#([^)]+)\)", svg)
        for ref in refs:
            assert ref.lstrip("#") in ids, (name, ref)
    assert not [i for i, n in all_ids.items() if n > 1]


def test_second_build_compiles_nothing(compiled, cache, monkeypatch):
    by_family, svgs = compiled

    def refuse(*args, **kwargs):
        raise AssertionError("compiled a figure that is in the cache")

    monkeypatch.setattr(figures, "_compile_one", refuse)
    monkeypatch.setattr(figures, "_compile_batch", refuse)
    again = compile_figures([f for figs in by_family.values() for f in figs], cache_dir=cache)
    assert again == svgs


def test_one_document_per_figure_gives_the_same_bytes(compiled, cache, tmp_path):
    by_family, svgs = compiled
    two = by_family["beam-search"][:1] + by_family["lstm-cell-backward"][:1]
    alone = compile_figures(two, cache_dir=tmp_path, batch_size=1, jobs=1)
    assert alone == {f.name: svgs[f.name] for f in two}


def test_a_broken_figure_is_named_with_texs_message(cache, monkeypatch):
    good = Figure(figure_name("\\begin{tikzpicture}\\draw (0,0) -- (1,1);\\end{tikzpicture}"),
                  "\\begin{tikzpicture}\\draw (0,0) -- (1,1);\\end{tikzpicture}")
    bad_tikz = "\\begin{tikzpicture}\\draw (0,0) -- \\nosuchmacro (1,1);\\end{tikzpicture}"
    bad = Figure(figure_name(bad_tikz), bad_tikz)
    other_tikz = "\\begin{tikzpicture}\\draw (0,0) circle (1);\\end{tikzpicture}"
    other = Figure(figure_name(other_tikz), other_tikz)
    # one worker: the three share a TeX run, which fails; each is then compiled alone
    with pytest.raises(LatexError) as caught:
        compile_figures([good, bad, other], cache_dir=cache, jobs=1)
    message = str(caught.value)
    print(message)
    assert bad.name in message and "Undefined control sequence" in message
    assert good.name not in message and other.name not in message and "\n" not in message
    # the good ones were compiled and kept all the same
    def refuse(*args, **kwargs):
        raise AssertionError("compiled a figure that is in the cache")

    monkeypatch.setattr(figures, "_compile_one", refuse)
    monkeypatch.setattr(figures, "_compile_batch", refuse)
    done = compile_figures([good, other], cache_dir=cache)
    assert all(svg.lstrip().startswith("<svg") for svg in done.values())


def test_extract_names_by_source_and_preamble():
    tikz = "\\begin{tikzpicture}\\draw (0,0) -- (1,0);\\end{tikzpicture}"
    tex = f"Before.\n\\qbankfigure{{%\n{tikz}%\n}}\nand again {tikz}\n% \\begin{{tikzpicture}} in a comment\n"
    text, figs = extract_figures(tex)
    assert len(figs) == 1 and figs[0].tikz == tikz
    assert re.fullmatch(r"fig-[0-9a-f]{16}", figs[0].name)
    assert text.count(f"\\includegraphics{{{figs[0].name}.svg}}") == 2
    assert "in a comment" in text
    assert figure_name(tikz) == figs[0].name != figure_name(tikz, preamble_tex="\\usepackage{tikz}")
    assert extract_figures(tex) == (text, figs)  # the same source, the same name


def test_nested_pictures_belong_to_the_outer_one():
    tikz = ("\\begin{tikzpicture}\\node {\\begin{tikzpicture}\\draw (0,0) circle (1);\\end{tikzpicture}};"
            "\\end{tikzpicture}")
    text, figs = extract_figures(f"A {tikz} B")
    assert len(figs) == 1 and figs[0].tikz == tikz and text.startswith("A \\includegraphics{")


def test_unclosed_picture_is_an_error():
    with pytest.raises(LatexError, match="without its"):
        extract_figures("\\begin{tikzpicture}\\draw (0,0) -- (1,0);")
