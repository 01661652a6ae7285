"""The command line as a user runs it: list, draw (json/tex), check, and clear one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import ROOT, run_qbank, write_content_root


def assert_clean_error(proc, *fragments):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("qbank: error:")]
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_help_teaches_with_examples():
    proc = run_qbank("--help")
    assert proc.returncode == 0
    for command in ("list", "draw", "exam", "check"):
        assert command in proc.stdout
    assert "examples:" in proc.stdout
    draw_help = run_qbank("draw", "--help").stdout
    assert "--params" in draw_help and "--seed" in draw_help and "--format" in draw_help


def test_list_shows_id_topic_title():
    proc = run_qbank("list")
    assert proc.returncode == 0
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()}
    assert "cnn" in rows["conv1d-forward"] and "1-D convolution" in rows["conv1d-forward"]
    for family in ("conv1d-recover-filter", "transpose-conv2d", "beam-search", "scalar-rnn-backprop"):
        assert family in rows


def test_draw_json_is_the_variant():
    proc = run_qbank("draw", "conv1d-forward", "--seed", "7", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {"family", "seed", "params", "answers"}
    assert data["family"] == "conv1d-forward" and data["seed"] == 7
    assert set(data["params"]) == {"signal", "filter", "stride", "padding"}
    assert set(data["answers"]) == {"length", "output"}


def test_draw_params_from_inline_json_and_yaml_file(tmp_path):
    inline = run_qbank(
        "draw", "conv1d-recover-filter", "--format", "json", "--params",
        '{"signal": [1, 4, 0, -2, 3], "filter": [2, -1, 3]}',
    )
    assert json.loads(inline.stdout)["answers"] == {"filter": [2, -1, 3]}
    pinned = tmp_path / "textbook.yaml"
    pinned.write_text("signal: [1, 4, 0, -2, 3]\nfilter: [2, -1, 3]\n")
    from_file = run_qbank("draw", "conv1d-recover-filter", "--format", "json", "--params", str(pinned))
    assert json.loads(from_file.stdout) == json.loads(inline.stdout)


def test_draw_tex_is_byte_identical_across_processes(tmp_path):
    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / hash_seed
        proc = run_qbank("draw", "beam-search", "--seed", "5", "--format", "tex", "--out", str(out),
                         env={"PYTHONHASHSEED": hash_seed})
        assert proc.returncode == 0, proc.stderr
        outputs.append({p.name: p.read_bytes() for p in sorted(out.glob("*.tex"))})
    assert outputs[0] == outputs[1]
    assert set(outputs[0]) == {"problem.tex", "solution.tex"}


def test_bad_inputs_are_one_clear_line():
    assert_clean_error(run_qbank("draw", "conv1d-forwad"), "unknown family", "conv1d-forward")
    assert_clean_error(
        run_qbank("draw", "conv1d-forward", "--params", '{"stride": "two"}'),
        "params.stride", "expected an integer",
    )
    assert_clean_error(run_qbank("draw", "conv1d-forward", "--params", "{oops"), "--params", "invalid inline JSON")
    proc = run_qbank("draw", "conv1d-forward", "--seed", "-3")
    assert proc.returncode == 2 and "expected an integer from 0 to 9223372036854775807" in proc.stderr


def test_check_passes_and_reports_per_family():
    proc = run_qbank("check", "--seeds", "20")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "conv1d-forward" in proc.stdout and "20 seeds  ok" in proc.stdout
    assert "passed 20 seeds each" in proc.stdout


def test_check_names_family_and_seed_of_a_failure(tmp_path):
    """An instructor's own family (through QBANK_PATH) whose answers are wrong for some seeds."""
    write_content_root(
        tmp_path,
        "test-wrong-sometimes",
        solve_body="params['x'] + (1 if params['x'] == 7 else 0)",
        check_body="assert answers['answer'] == params['x'], 'answer is wrong'",
        template="\\BLOCK{block problem}$\\VAR{params.x}$\\BLOCK{endblock}\n"
        "\\BLOCK{block solution}$\\VAR{answers.answer}$\\BLOCK{endblock}\n",
    )
    proc = run_qbank("check", "test-wrong-sometimes", "--seeds", "40", env={"QBANK_PATH": str(tmp_path)})
    assert proc.returncode == 1
    assert "FAIL test-wrong-sometimes seed" in proc.stderr and "answer is wrong" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_no_top_level_generators_package_is_importable():
    """generators/ is content loaded by the registry, never a package in site-packages."""
    proc = subprocess.run(
        [sys.executable, "-c", "import generators"], capture_output=True, text=True, cwd="/", env=os.environ
    )
    assert proc.returncode != 0
    assert (ROOT / "generators").is_dir()
