"""Estimator-check registrations for skempathy.compose (the text featurizers are checked with
texts in tests/test_text_checks.py)."""

from tests.conftest import shared_data_dir


def _lexicon():
    """The Sedoc et al. lexicon folder of the shared data, else a two-word stand-in."""
    import pandas as pd

    data = shared_data_dir()
    if data is not None and (data / "empathy_distress_lexicon_sedoc2019").is_dir():
        return str(data / "empathy_distress_lexicon_sedoc2019")
    return pd.DataFrame({"word": ["sad", "happy"], "empathy": [6.0, 2.0]})


def _instances():
    from xgboost import XGBClassifier

    from skempathy.compose import LabelEncodedClassifier

    return [LabelEncodedClassifier(XGBClassifier(n_estimators=5, max_depth=2, n_jobs=1))]


INSTANCES = _instances()
EXPECTED_FAILED = {}
