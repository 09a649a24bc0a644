"""Structural rules of the package: one training loop."""

import re
from pathlib import Path

import skempathy

PACKAGE = Path(skempathy.__file__).parent


def test_one_place_in_the_package_runs_backward():
    calls = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\.backward\(", line.split("#")[0])
    ]
    assert calls == ["_engine/_loop.py:" + calls[0].split(":")[1]], calls
