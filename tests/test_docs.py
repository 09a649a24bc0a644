"""Every code block of the README and of the user guide runs as written.

Python blocks of one page run in order in one namespace (like a notebook); all
pages run in one fresh interpreter (``_run_doc_blocks.py``), in a
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

_GUIDE = sorted((REPO_ROOT / "docs" / "user_guide").glob("*.md"))
PAGES = [
    REPO_ROOT / "README.md",
    REPO_ROOT / "docs" / "index.md",
    REPO_ROOT / "docs" / "getting_started.md",
    *(page for page in _GUIDE if page.name != "index.md"),
]
_FENCE = re.compile(
    r"(?:<!-- docs-test: (?P<mark>slow|skip)[^>]*-->\n)?"
    r"^```(?P<lang>\w+)\n(?P<code>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
# Pages whose blocks read corpora that are not bundled (found through the shared data).
_NEEDS_SHARED = ("fetch_goemotions", "goemotions_to_wassa", "LexiconFeaturizer", '"data/')


def code_blocks(path, lang):
    """``(code, mark)`` of every ``lang`` block of a Markdown page, in order."""
    return [(m["code"], m["mark"]) for m in _FENCE.finditer(path.read_text()) if m["lang"] == lang]


def _python_cases():
    return [
        pytest.param(page, id=str(page.relative_to(REPO_ROOT)))
        for page in PAGES
        if any(mark is None for _, mark in code_blocks(page, "python"))
    ]


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
    assert [mark for _, mark in code_blocks(REPO_ROOT / "docs" / "user_guide" / "cli.md", "bash")][
        0
    ] == "slow"


class PythonBlocksRun:
    """Every page's Python blocks, run by ``_run_doc_blocks.py`` in a subprocess.

    The run takes minutes, mostly waiting on models, so ``conftest.py`` starts it when
    the session's tests are collected and it overlaps the rest of the suite; both sides
    then use one torch thread each (``conftest.py`` sets its own). Run alone (``pytest
    tests/test_docs.py``) it starts when its first test asks and uses both cores.
    """

    def __init__(self, threads=None):
        import json
        import tempfile

        self.folder = Path(tempfile.mkdtemp(prefix="docs_python_"))
        shared = shared_data_dir()
        if shared is not None:
            (self.folder / "data").symlink_to(shared, target_is_directory=True)
        pages = {
            page.name: [code for code, mark in code_blocks(page, "python") if mark is None]
            for page in PAGES
        }
        pages = {
            name: blocks
            for name, blocks in pages.items()
            if blocks and not (shared is None and any(w in "".join(blocks) for w in _NEEDS_SHARED))
        }
        (self.folder / "pages.json").write_text(json.dumps(pages))
        env = dict(os.environ, MPLBACKEND="Agg")
        if threads is not None:
            env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        runner = Path(__file__).with_name("_run_doc_blocks.py")
        # a file, not a pipe: nobody reads a pipe while the run goes on, and a full one blocks it
        with open(self.folder / "stderr.txt", "w") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, str(runner), "pages.json", "results.json"],
                cwd=self.folder,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=env,
            )
        self._results = None

    def running(self):
        return self.process.poll() is None

    def results(self):
        """``{page name: error or None}``, once the run has ended."""
        import json

        if self._results is None:
            self.process.wait(timeout=3000)
            results_file = self.folder / "results.json"
            stderr = (self.folder / "stderr.txt").read_text(errors="replace")
            assert results_file.exists(), f"the runner died:\n{stderr[-3000:]}"
            self._results = json.loads(results_file.read_text())
        return self._results

    def stop(self):
        import shutil

        if self.running():
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


BACKGROUND = None  # the run conftest.py started, if it did


@pytest.fixture(scope="module")
def python_results():
    """``{page name: error or None}`` of every page's Python blocks."""
    run = BACKGROUND or PythonBlocksRun()
    try:
        return run.results()
    finally:
        run.stop()


@pytest.mark.parametrize("page", _python_cases())
def test_python_blocks_run(page, python_results):
    if page.name not in python_results:
        _skip_without_shared_data("".join(code for code, _ in code_blocks(page, "python")))
    assert page.name in python_results, "the runner stopped before this page"
    assert python_results[page.name] is None, f"{page.name}, {python_results[page.name]}"


def _bash_cases():
    cases = []
    for page in PAGES:
        for i, (code, mark) in enumerate(code_blocks(page, "bash")):
            if mark != "skip":
                cases.append(
                    pytest.param(
                        code,
                        id=f"{page.relative_to(REPO_ROOT)}[bash block {i + 1}]",
                        marks=[pytest.mark.slow] if mark == "slow" else [],
                    )
                )
    return cases


@pytest.mark.parametrize("code", _bash_cases())
def test_bash_blocks_run(code, workdir):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(
        ["bash", "-e", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir,
        timeout=1800,
    )
    assert done.returncode == 0, f"exited {done.returncode}:\n{done.stderr[-3000:]}"
    # no progress bar reaches a log: stderr is not a terminal here
    assert "\r" not in done.stderr and "it/s]" not in done.stderr


def test_the_results_leaderboard_fits_a_laptop_screen():
    """Short tables, every cell measured or empty, and the machine named beside each table."""
    page = (REPO_ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    assert "not measured" not in page
    start = page.index("## Leaderboard")
    board = page[start : page.index("\n#", start + 5)]  # up to the next heading of any level
    lines = board.splitlines()
    headers = [line for line, below in zip(lines, lines[1:]) if below.startswith("|---")]
    assert len(headers) >= 3 and all(line.count("|") - 1 <= 6 for line in headers), headers
    assert "EPYC" in board


def test_the_landing_page_opens_with_install_example_and_numbers():
    page = (REPO_ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    toc = page.index("```{toctree}")
    assert page.index("pip install") < toc and page.index("```python") < toc
    assert page.index("## Headline numbers") < toc and "0.556" in page[:toc]
