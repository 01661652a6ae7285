"""An instructor's own families (QBANK_PATH): clashes, broken modules and non-JSON samplers are one
clear error naming the file."""

from __future__ import annotations

from conftest import run_qbank, write_content_root

TEMPLATE = "\\BLOCK{block problem}What is $\\VAR{params.x}$?\\BLOCK{endblock}\n\\BLOCK{block solution}\\VAR{answers.answer}\\BLOCK{endblock}\n"


def plugin(tmp_path, family_id="test-plugin", solve="params['x']", name="p"):
    return write_content_root(tmp_path / name, family_id, solve_body=solve,
                              check_body="assert answers['answer'] == params['x']", template=TEMPLATE)


def last_line(proc) -> str:
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return proc.stderr.strip().splitlines()[-1]


def test_a_plugin_cannot_replace_a_built_in_family_whatever_its_class_name(tmp_path):
    for class_name in ("Custom", "Conv1dForward"):
        root = plugin(tmp_path, "conv1d-forward", name=class_name)
        module = root / "generators" / "conv1d_forward.py"
        module.write_text(module.read_text().replace("class Custom", f"class {class_name}"))
        proc = run_qbank("list", env={"QBANK_PATH": str(root)})
        assert proc.returncode == 2
        line = last_line(proc)
        assert "family id 'conv1d-forward' is defined twice: in " in line
        assert "generators/conv.py" in line and str(module) in line


def test_two_plugins_with_one_id_name_both_files(tmp_path):
    a, b = plugin(tmp_path, "test-twice", name="a"), plugin(tmp_path, "test-twice", name="b")
    proc = run_qbank("list", env={"QBANK_PATH": f"{a}:{b}"})
    line = last_line(proc)
    assert proc.returncode == 2 and str(a / "generators") in line and str(b / "generators") in line


def test_a_syntax_error_names_the_plugin_file_and_line(tmp_path):
    root = plugin(tmp_path)
    module = root / "generators" / "test_plugin.py"
    module.write_text(module.read_text() + "\ndef broken(:\n")
    proc = run_qbank("list", env={"QBANK_PATH": str(root)})
    line = last_line(proc)
    lines = module.read_text().count("\n")
    assert proc.returncode == 2 and f"{module}: line {lines}: syntax error in generator module" in line


def test_an_import_error_names_the_plugin_line(tmp_path):
    root = plugin(tmp_path)
    module = root / "generators" / "test_plugin.py"
    module.write_text("import numpy\nimport no_such_module_here\n" + module.read_text())
    proc = run_qbank("list", env={"QBANK_PATH": str(root)})
    line = last_line(proc)
    assert f"{module}: line 2: could not load generator module: ModuleNotFoundError" in line


def test_a_sampler_returning_numpy_numbers_is_a_clear_error(tmp_path):
    root = plugin(tmp_path)
    module = root / "generators" / "test_plugin.py"
    module.write_text(module.read_text().replace("int(rng.integers(0, 10))", "rng.integers(0, 10)"))
    proc = run_qbank("draw", "test-plugin", "--format", "json", env={"QBANK_PATH": str(root)})
    line = last_line(proc)
    assert proc.returncode == 2
    assert "family test-plugin: sample() returned params.x as numpy.int64" in line and "int(...)" in line


def test_a_solver_returning_a_set_is_a_clear_error(tmp_path):
    root = plugin(tmp_path, solve="{params['x']}")
    proc = run_qbank("draw", "test-plugin", "--format", "json", env={"QBANK_PATH": str(root)})
    assert "family test-plugin: solve() returned answers.answer as set" in last_line(proc)


def test_a_missing_or_wrong_qbank_path_is_an_error(tmp_path):
    proc = run_qbank("list", env={"QBANK_PATH": str(tmp_path / "nowhere")})
    assert proc.returncode == 2 and last_line(proc) == f"qbank: error: QBANK_PATH: no such folder {tmp_path / 'nowhere'}"
    (tmp_path / "afile").write_text("x")
    proc = run_qbank("list", env={"QBANK_PATH": str(tmp_path / "afile")})
    assert "is a file, not a folder" in last_line(proc)
