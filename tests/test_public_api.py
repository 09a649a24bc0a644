"""The public names of every public module, against a recorded list: a refactor that drops or
renames a name fails here instead of silently. A deliberate change updates
``tests/public_api.txt`` (``python tests/test_public_api.py`` rewrites it) and the changelog."""

import importlib
import pkgutil
import sys
from pathlib import Path

import skempathy

RECORD = Path(__file__).with_name("public_api.txt")


def public_modules():
    """``skempathy`` and every module below it whose dotted path has no private part."""
    names = ["skempathy"]
    for info in pkgutil.walk_packages(skempathy.__path__, "skempathy."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def surface():
    lines = []
    for name in public_modules():
        module = importlib.import_module(name)
        lines += [f"{name}.{attr}" for attr in sorted(getattr(module, "__all__", []))]
    return lines


def test_every_public_name_is_recorded_and_exists():
    recorded = RECORD.read_text(encoding="utf-8").split()
    current = surface()
    dropped = sorted(set(recorded) - set(current))
    added = sorted(set(current) - set(recorded))
    assert not dropped, f"public names dropped: {dropped} (keep them, or deprecate first)"
    assert not added, f"new public names {added}: record them in {RECORD.name}"
    for entry in current:
        module, _, attr = entry.rpartition(".")
        assert hasattr(importlib.import_module(module), attr), f"{entry} is in __all__ only"


if __name__ == "__main__":
    RECORD.write_text("\n".join(surface()) + "\n", encoding="utf-8")
    print(f"wrote {RECORD}", file=sys.stderr)
