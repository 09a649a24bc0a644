"""sklearn's estimator checks on every public skempathy estimator that takes numbers.

Each area registers its instances in ``tests/_checks_<area>.py``: ``INSTANCES`` (a list
of small estimator instances) and ``EXPECTED_FAILED`` (class name -> {check name:
written reason}). Estimators that take raw text are checked with texts in
tests/test_text_checks.py (scikit-learn's checks skip them, as they skip
``TfidfVectorizer``).
"""

import importlib
from pathlib import Path

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skempathy.utils.discovery import all_estimators

_AREA_MODULES = sorted(p.stem for p in Path(__file__).parent.glob("_checks_*.py"))


def _collect():
    instances, expected = [], {}
    for name in _AREA_MODULES:
        module = importlib.import_module(f"tests.{name}")
        instances.extend(module.INSTANCES)
        expected.update(module.EXPECTED_FAILED)
    return instances, expected


INSTANCES, EXPECTED_FAILED = _collect()


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED.get(type(estimator).__name__, {})


@parametrize_with_checks(INSTANCES, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("name, cls", all_estimators())
def test_every_public_estimator_is_checked(name, cls):
    from tests.test_text_checks import TEXT_ESTIMATORS

    text = {type(item[0] if isinstance(item, tuple) else item).__name__ for item in TEXT_ESTIMATORS}
    checked = {type(est).__name__ for est in INSTANCES} | text
    assert name in checked, (
        f"{name} is public but registered neither in tests/_checks_*.py "
        "nor in tests/test_text_checks.py"
    )


def test_expected_failures_are_few():
    """Every expected failure of the two suites, counted (each names its check and reason)."""
    from tests.test_text_checks import EXPECTED_FAILED as TEXT_EXPECTED

    count = sum(len(v) for v in EXPECTED_FAILED.values()) + sum(
        len(v) for v in TEXT_EXPECTED.values()
    )
    print(f"expected failures: {count}")
    assert count <= 20
