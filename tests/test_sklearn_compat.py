"""scikit-learn's private helpers are imported in one module only."""

import ast
from pathlib import Path

import sklearn

import skempathy
from skempathy.utils import _sklearn_compat

PACKAGE = Path(skempathy.__file__).parent
COMPAT = Path(_sklearn_compat.__file__)


def _where(path, node):
    return f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"


def _private_sklearn_imports(path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sklearn"):
            private_module = any(part.startswith("_") for part in node.module.split("."))
            for alias in node.names:
                if private_module or alias.name.startswith("_"):
                    yield f"{_where(path, node)} {node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sklearn") and "._" in alias.name:
                    yield f"{_where(path, node)} {alias.name}"


def test_private_sklearn_names_come_from_the_compat_module():
    offenders = [
        hit
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != COMPAT
        for hit in _private_sklearn_imports(path)
    ]
    assert offenders == [], "import these through skempathy.utils._sklearn_compat:\n" + "\n".join(
        offenders
    )


def test_the_compat_module_imports_every_name_it_exports():
    for name in _sklearn_compat.__all__:
        assert getattr(_sklearn_compat, name) is not None, name


def test_installed_scikit_learn_is_within_the_tested_range():
    # pyproject.toml caps scikit-learn at the newest minor version the tests ran against.
    text = (PACKAGE.parent / "pyproject.toml").read_text()
    major, minor = (int(part) for part in sklearn.__version__.split(".")[:2])
    assert '"scikit-learn>=1.6,<1.10"' in text
    assert (1, 6) <= (major, minor) < (1, 10)
