"""sklearn's estimator checks on every public skempathy estimator.

Each area registers its instances in ``tests/_checks_<area>.py``:
``INSTANCES`` (a list of small estimator instances) and ``EXPECTED_FAILED``
(class name -> {check name: written reason}). Reasons are only allowed where a
check cannot apply to text input.
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
    checked = {type(est).__name__ for est in INSTANCES}
    assert name in checked, f"{name} is public but not registered in tests/_checks_*.py"
