"""Every code block of the README and of the user guide runs as written.

Python blocks of one page run in order in one namespace (like a notebook), in a
temporary working folder where ``data/`` holds the shared corpora (the user
guide loads dialogue corpora from ``data/...``, "the folder as distributed").
Bash blocks run with ``bash -e`` in such a folder, with this interpreter's
``skempathy`` command first on ``PATH``. A block preceded by
``<!-- docs-test: slow -->`` runs only with ``-m slow``; one preceded by
``<!-- docs-test: skip (reason) -->`` is not run here (installs, for example,
which ``.ci/run`` performs itself).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO_ROOT, shared_data_dir

PAGES = [REPO_ROOT / "README.md", REPO_ROOT / "docs" / "getting_started.md",
         *sorted(p for p in (REPO_ROOT / "docs" / "user_guide").glob("*.md")
                   if p.name != "index.md")]
_FENCE = re.compile(r"(?:<!-- docs-test: (?P<mark>slow|skip)[^>]*-->\n)?"
                    r"^```(?P<lang>\w+)\n(?P<code>.*?)^```$", re.MULTILINE | re.DOTALL)
# Pages whose blocks read corpora that are not bundled (found through the shared data).
_NEEDS_SHARED = ("fetch_goemotions", "goemotions_to_wassa", "LexiconFeaturizer", '"data/')


def code_blocks(path, lang):
    """``(code, mark)`` of every ``lang`` block of a Markdown page, in order."""
    return [(m["code"], m["mark"]) for m in _FENCE.finditer(path.read_text())
            if m["lang"] == lang]


def _python_cases():
    return [pytest.param(page, id=str(page.relative_to(REPO_ROOT))) for page in PAGES
            if any(mark is None for _, mark in code_blocks(page, "python"))]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shared = shared_data_dir()
    if shared is not None:
        (tmp_path / "data").symlink_to(shared, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return tmp_path


def _skip_without_shared_data(code):
    if shared_data_dir() is None and any(word in code for word in _NEEDS_SHARED):
        pytest.skip("the page reads corpora that are not bundled (set SKEMPATHY_SHARED_DATA)")


def test_pages_have_code_blocks():
    assert len(PAGES) >= 12
    assert all(code_blocks(page, "python") or code_blocks(page, "bash") for page in PAGES)
    # the parser sees the markers
    assert [mark for _, mark in code_blocks(REPO_ROOT / "docs" / "user_guide" / "cli.md",
                                            "bash")][0] == "slow"


@pytest.mark.parametrize("page", _python_cases())
def test_python_blocks_run(page, workdir):
    blocks = [code for code, mark in code_blocks(page, "python") if mark is None]
    _skip_without_shared_data("".join(blocks))
    namespace = {"__name__": "__docs__"}
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"{page.name}[python block {i + 1}]", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"{page.name}, python block {i + 1} failed: {exc!r}") from exc


def _bash_cases():
    cases = []
    for page in PAGES:
        for i, (code, mark) in enumerate(code_blocks(page, "bash")):
            if mark != "skip":
                cases.append(pytest.param(
                    code, id=f"{page.relative_to(REPO_ROOT)}[bash block {i + 1}]",
                    marks=[pytest.mark.slow] if mark == "slow" else []))
    return cases


@pytest.mark.parametrize("code", _bash_cases())
def test_bash_blocks_run(code, workdir):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(["bash", "-e", "-c", code], capture_output=True, text=True,
                          env=env, cwd=workdir, timeout=1800)
    assert done.returncode == 0, f"exited {done.returncode}:\n{done.stderr[-3000:]}"
    # no progress bar reaches a log: stderr is not a terminal here
    assert "\r" not in done.stderr and "it/s]" not in done.stderr
