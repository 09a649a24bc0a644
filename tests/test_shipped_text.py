"""Shipped files speak of the software only.

Code, documentation, examples and benchmarks describe what the software does
and what was measured, never how the work on it was organised: no work
sessions or periods, issue or ticket numbers, dates of internal work, or which
machines happened to be available. History belongs in git and the changelog.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ["skempathy", "docs", "examples", "benchmarks", "README.md"]
SUFFIXES = {".py", ".md", ".rst", ".txt", ".cfg", ".toml", ".json", ".html", ".csv"}
SKIP_PARTS = {"_build", "generated", "auto_examples", "__pycache__", "data"}

NARRATION = {
    "a work session": r"\b(?:this|that|the|a|an|next|previous|earlier|later|first|second|third|"
    r"fourth|fifth|sixth|seventh|eighth|ninth|\d+(?:st|nd|rd|th)) sessions?\b",
    "an issue or ticket number": r"\b(?:issue|ticket|task)[- ]?#?\d+\b|\bissues? \d+(?:, \d+)*\b",
    "a numbered work period": r"\b(?:work period|sprint|iteration|milestone) ?#?\d+\b",
    "a date of internal work": r"\b20\d\d-[01]\d-[0-3]\d\b",
    "which machines were lent": r"\b(?:was|were|is|not) lent\b|\bnot drawn\b|\bno GPU was\b",
    "a stop of the work": r"\b(?:this|that|the previous|an earlier) stop\b",
}


def _shipped_files():
    for entry in SHIPPED:
        path = ROOT / entry
        files = [path] if path.is_file() else sorted(path.rglob("*"))
        for file in files:
            if (
                file.is_file()
                and file.suffix in SUFFIXES
                and not SKIP_PARTS.intersection(file.relative_to(ROOT).parts)
            ):
                yield file


def _hits(text):
    for what, pattern in NARRATION.items():
        for match in re.finditer(pattern, text, flags=re.IGNORECASE):
            line = text.count("\n", 0, match.start()) + 1
            yield what, line, match.group(0)


def test_patterns_catch_narration():
    examples = [
        "measured in the sixth session",
        "see issue 7",
        "the issue-7 targets",
        "run on 2026-12-02",
        "no GPU was lent to this task",
        "in work period 3",
    ]
    for sentence in examples:
        assert list(_hits(sentence)), sentence
    for sentence in [
        "a pytest session fixture",
        "onnxruntime.InferenceSession(path)",
        "SessionState",
        "trained for 3 epochs on 2 cores",
    ]:
        assert not list(_hits(sentence)), sentence


def test_shipped_files_do_not_narrate_the_work():
    files = list(_shipped_files())
    assert len(files) > 50  # the walk found the tree
    found = [
        f"{file.relative_to(ROOT)}:{line}: {what}: {text!r}"
        for file in files
        for what, line, text in _hits(file.read_text(errors="replace"))
    ]
    if found:
        pytest.fail("shipped files narrate the work:\n" + "\n".join(found))
