"""The benchmark scripts are standalone programs on skempathy's public API."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = sorted(BENCHMARKS.glob("*.py"))


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield ("." * node.level) + (node.module or "")
            if (node.module or "").startswith("skempathy"):
                yield from (f"{node.module}.{alias.name}" for alias in node.names)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_a_benchmark_imports_neither_another_script_nor_private_names(script):
    others = {path.stem for path in SCRIPTS}
    for name in _imports(script):
        assert name.split(".")[0] not in others and not name.startswith("."), name
        if name.startswith("skempathy"):
            assert not any(part.startswith("_") for part in name.split(".")), name


def test_no_saved_results_are_committed():
    tracked = subprocess.run(
        ["git", "ls-files", "benchmarks"], cwd=BENCHMARKS.parent, capture_output=True, text=True
    ).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    assert not [path for path in tracked if path.endswith((".npz", ".npy", ".pkl", ".joblib"))]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_every_benchmark_answers_help(script):
    done = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "usage" in done.stdout.lower()


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_every_benchmark_prints_the_machine_it_ran_on(script):
    """Speeds are compared only within one run, beside the CPU and its matrix units."""
    tree = ast.parse(script.read_text(), filename=str(script))
    assert "skempathy.utils.cpu_summary" in set(_imports(script))
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "cpu_summary"
    ]
    assert calls, f"{script.name} never calls cpu_summary()"
