"""Real PDFs from real pdflatex: solutions contain the answers, problems contain none of them."""

from __future__ import annotations

import json

import pytest
import yaml

from conftest import pdf_text, run_qbank, squash, write_content_root

pytestmark = pytest.mark.pdf


def short(value: float) -> str:
    """A number as the templates print it: at most 4 decimals, trailing zeros trimmed."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def fixed4(value: float) -> str:
    """A number with exactly 4 decimals, no negative zero."""
    text = f"{value:.4f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def answer_snippets(variant: dict) -> list[str]:
    """Strings the solution PDF must show (whitespace removed), per family."""
    fam, a = variant["family"], variant["answers"]
    if fam is None:
        return []
    seq = lambda values: "[" + ",".join(str(v) for v in values) + "]"  # noqa: E731
    if fam == "conv1d-forward":
        return [f"y={seq(a['output'])}", f"(length{a['length']})"]
    if fam == "conv1d-recover-filter":
        return [f"h={seq(a['filter'])}"]
    if fam == "transpose-conv2d":
        return [" ".join(str(v) for v in row) for row in a["output"]]
    if fam == "beam-search":
        return [a["best"]["sequence"], f"{a['best']['logp']:.2f}"]
    if fam == "scalar-rnn-backprop":
        value = a["dydw"]
        return [str(int(value)) if float(value).is_integer() else str(value)]
    if fam == "relu-net-derivatives":
        v = a["values"]
        side = ">" if a["active_side"] == "right" else "<"
        return [
            f"is active for x {side} {short(a['kink'])}",
            "(" + ", ".join(short(v[n][0]) for n in ("b2", "w2", "b1", "w1")) + ")",
        ]
    if fam == "mlp-skip-bce-backprop":  # answers at their card's precision (issue 16)
        from qbank import get_family

        asked = lambda name, v: get_family(fam).answers[name].grading.text(v)  # noqa: E731
        return [asked("y_hat", a["y_hat"]), f"J = {asked('loss', a['loss'])}", asked("db2", a["db2"])]
    if fam in ("lstm-cell-backward", "rnn-gradient-flow"):  # answers at their card's precision (issue 16)
        from qbank import get_family

        asked = lambda name, v: get_family(fam).answers[name].grading.text(v)  # noqa: E731
        if fam == "lstm-cell-backward":
            return ["[" + ", ".join(asked("da", v) for v in a["da"]) + "]", asked("dc_prev", a["dc_prev"][0])]
        return [asked("log10_norms", a["log10_norms"][-1]), a["regime"].capitalize() + ":"]
    if fam == "init-variance":  # sigma and the He sigma to 4 decimal places (issue 16)
        show = lambda x: f"{x:.4f}"  # noqa: E731
        if a["he_sigma"] is not None:
            return [show(a["sigma"]), show(a["he_sigma"]), "0.3408"]
        return [show(a["sigma"]), "Smaller:"]
    if fam == "ridge-map":  # the estimate at its card's precision (issue 16: 4 significant digits)
        from qbank import get_family

        asked = get_family(fam).answers["w_hat"].grading.text
        det = a["det"]
        det_text = str(det) if isinstance(det, int) else short(det)
        return [asked(a["w_hat"][0]), asked(a["w_hat"][1]), det_text]
    if fam == "nalu":
        return [short(v) for v in a["y"]] + [fixed4(a["W"][0][0])]
    if fam == "resnet-init-variance":  # answers at their card's precision (issue 16)
        from qbank import get_family

        asked = lambda name, v: get_family(fam).answers[name].grading.text(v)  # noqa: E731
        return [asked("var_L", a["var_L"]), asked("sigma_w_exact", a["sigma_w_exact"])]
    raise AssertionError(f"no snippets for {fam}")


FAMILIES = [
    "conv1d-forward",
    "conv1d-recover-filter",
    "transpose-conv2d",
    "beam-search",
    "scalar-rnn-backprop",
    "relu-net-derivatives",
    "mlp-skip-bce-backprop",
    "lstm-cell-backward",
    "rnn-gradient-flow",
    "init-variance",
    "resnet-init-variance",
    "ridge-map",
    "nalu",
]


@pytest.mark.parametrize("family", FAMILIES)
def test_draw_pdf_solution_has_answers_problem_has_none(family, tmp_path):
    out = tmp_path / family
    proc = run_qbank("draw", family, "--seed", "4", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    variant = json.loads(run_qbank("draw", family, "--seed", "4", "--format", "json").stdout)
    problem, solution = pdf_text(out / "problem.pdf"), pdf_text(out / "solution.pdf")
    raw_solution, flat_solution = solution, squash(solution)
    for snippet in answer_snippets(variant):
        assert snippet in raw_solution or squash(snippet) in flat_solution, f"{snippet!r} missing from solution.pdf"
    assert "Solution" not in problem and "Answer:" not in problem
    assert "Solution" in solution and "Answer" in solution
    assert "\\" not in problem + solution, "raw LaTeX leaked into the PDF"
    assert sorted(p.name for p in out.iterdir()) == [".qbank-output", "problem.pdf", "solution.pdf"]


def test_exam_versions_differ_and_hold_their_answers(tmp_path):
    blueprint = tmp_path / "quiz.yaml"
    blueprint.write_text(
        yaml.safe_dump(
            {
                "title": "Quiz",
                "course": "Deep Learning",
                "options": {"cover": False},
                "sections": [
                    {"title": "", "slots": [{"family": "conv1d-forward", "points": 4}, {"family": "beam-search", "points": 6}]}
                ],
            }
        )
    )
    out = tmp_path / "exam"
    proc = run_qbank("exam", str(blueprint), "--versions", "2", "--out", str(out), "--secret", "test-secret-1-0c54f5db7fd32c14f2d370493828b4ff")
    assert proc.returncode == 0, proc.stderr
    assert "[4/4] " in proc.stderr and "instructor/v02/solutions.pdf" in proc.stderr  # progress, a line per PDF
    assert "hand out: " in proc.stderr and "students/*/exam.pdf" in proc.stderr
    manifest = json.loads((out / "instructor" / "manifest.json").read_text())
    versions = manifest["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["questions"] != versions[1]["questions"]
    for v in versions:
        folder = f"v{v['version']:02d}"
        exam = pdf_text(out / "students" / folder / "exam.pdf")
        solutions = pdf_text(out / "instructor" / folder / "solutions.pdf")
        assert "Name:" in exam and v["code"] in exam
        assert exam.count("Page ") == 2 and "Page 2 of 2" in exam  # one page per question, title on the first
        for question in v["questions"]:
            for snippet in answer_snippets(question):
                assert squash(snippet) in squash(solutions)
        assert "Answer:" not in exam and "Solution" not in exam


def test_exam_blueprint_errors_name_file_line_field(tmp_path):
    blueprint = tmp_path / "bad.yaml"
    blueprint.write_text("title: Quiz\nsections:\n  - slots:\n      - family: conv1d-forward\n        points: -2\n")
    proc = run_qbank("exam", str(blueprint), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert f"{blueprint}: line 5: sections[0].slots[0].points: expected a positive number" in proc.stderr
    assert not (tmp_path / "out").exists()
    blueprint.write_text("title: Quiz\nsections:\n  - slots:\n      - family: conv-forward\n        points: 2\n")
    proc = run_qbank("exam", str(blueprint), "--out", str(tmp_path / "out"))
    assert "line 4: sections[0].slots[0].family: unknown family 'conv-forward'" in proc.stderr


def test_latex_error_names_variant_and_line_and_keeps_old_output(tmp_path):
    """A family template with a LaTeX error: one clear message, log kept, earlier PDFs untouched."""
    content = write_content_root(
        tmp_path / "content",
        "test-latex-typo",
        solve_body="params['x']",
        check_body="assert answers['answer'] == params['x']",
        template="\\BLOCK{block problem}\nWhat is $\\VAR{params.x}$?\n\\BLOCK{endblock}\n"
        "\\BLOCK{block solution}\nIt is \\undefinedmacro{\\VAR{answers.answer}}.\n\\BLOCK{endblock}\n",
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "solution.pdf").write_bytes(b"%PDF-1.5 earlier build")
    (out / ".qbank-output").write_text('{"made_by": "qbank", "kind": "draw", "files": ["solution.pdf"]}')  # qbank's own
    proc = run_qbank("draw", "test-latex-typo", "--seed", "3", "--out", str(out), env={"QBANK_PATH": str(content)})
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    message = proc.stderr.strip().splitlines()[-1]
    assert "LaTeX error in test-latex-typo seed 3 (solution)" in message
    assert "solution.tex line" in message and "\\undefinedmacro" in message and "Undefined control sequence" in message
    assert (out / "solution.pdf").read_bytes() == b"%PDF-1.5 earlier build"
    assert not (out / "problem.pdf").exists()
    assert (tmp_path / "out.failed" / "solution" / "solution.log").is_file()


def test_same_variant_gives_byte_identical_pdfs(tmp_path):
    for name in ("a", "b"):  # the second compiles again (no cache) and must still match byte for byte
        proc = run_qbank("draw", "transpose-conv2d", "--seed", "9", "--out", str(tmp_path / name), "--no-cache")
        assert proc.returncode == 0, proc.stderr
    for pdf in ("problem.pdf", "solution.pdf"):
        assert (tmp_path / "a" / pdf).read_bytes() == (tmp_path / "b" / pdf).read_bytes()


def test_cache_skips_unchanged_pdfs_and_no_cache_forces(tmp_path):
    env = {"QBANK_CACHE": str(tmp_path / "cache")}
    first = run_qbank("draw", "conv1d-forward", "--seed", "31", "--out", str(tmp_path / "a"), env=env)
    assert first.returncode == 0, first.stderr
    assert "from the cache" not in first.stderr
    assert len(list((tmp_path / "cache" / "formats").glob("*.fmt"))) == 1  # the shared preamble, precompiled
    again = run_qbank("draw", "conv1d-forward", "--seed", "31", "--out", str(tmp_path / "b"), env=env)
    assert "0 PDF(s) compiled, 2 unchanged ones taken from the cache" in again.stderr
    assert (tmp_path / "a" / "solution.pdf").read_bytes() == (tmp_path / "b" / "solution.pdf").read_bytes()
    forced = run_qbank("draw", "conv1d-forward", "--seed", "31", "--out", str(tmp_path / "c"), "--no-cache", env=env)
    assert forced.returncode == 0 and "from the cache" not in forced.stderr


def test_one_pass_per_document_and_a_broken_preamble_falls_back_with_a_note(tmp_path):
    from qbank.latex import Compiler, Document, build_pdfs
    from qbank.progress import Reporter
    import io

    head = "\\documentclass{article}\n\\usepackage{amsmath}\n\\csname endofdump\\endcsname\n"
    plain = Document("plain", head + "\\begin{document}Hello $x^2$.\\end{document}\n")
    ref = Document("ref", head + "\\begin{document}See page \\pageref{end}.\\newpage End.\\label{end}\\end{document}\n")
    compiler = Compiler(cache_dir=tmp_path / "cache", use_cache=False)
    for doc, passes in ((plain, 1), (ref, 3)):  # cumulative: 1 for plain, then 2 for the reference
        (tmp_path / doc.name).mkdir()
        (tmp_path / doc.name / f"{doc.name}.tex").write_text(doc.tex)
        assert compiler.compile(doc, tmp_path / doc.name) is None
        assert compiler.passes == passes
    assert "See page 2" in pdf_text(tmp_path / "ref" / "ref.pdf")
    assert compiler.format_for(plain.tex) is not None  # the shared preamble was precompiled

    broken = "\\documentclass{article}\n\\usepackage{no-such-package-qbank}\n\\csname endofdump\\endcsname\n"
    docs = [Document("broken", broken + "\\begin{document}Hi\\end{document}\n")]
    stream = io.StringIO()
    with pytest.raises(Exception, match="no-such-package-qbank"):
        build_pdfs(docs, tmp_path / "bad", reporter=Reporter(stream), cache=False)
    assert "could not precompile the shared preamble" in stream.getvalue()
