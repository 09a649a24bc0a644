"""Checks of the scikit-learn contract for estimators that take raw text.

scikit-learn's own checks feed numeric matrices, so a text estimator (tagged
``input_tags.string=True, two_d_array=False``, like ``TfidfVectorizer``) gets none of
them. These checks ask the same questions with texts: real WASSA essays (bundled) and,
for targets, their emotion labels or empathy scores. Use
:func:`parametrize_with_checks` in a test suite, or :func:`check_estimator` directly.
"""

import pickle
import warnings
from functools import partial

import numpy as np
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.utils import estimator_checks as sk

__all__ = ["check_estimator", "parametrize_with_checks", "text_check_data"]

# neural estimators compute in float32 and batch with padding
_RTOL, _ATOL = 1e-4, 1e-5
_METHODS = ("predict", "predict_proba", "decision_function", "transform")


def text_check_data(estimator, n_samples=24):
    """``(X, y)`` of WASSA essays for ``estimator``: a list of texts and, for a predictor,
    emotion labels (classifier), empathy scores (regressor) or both (multi-output).

    Parameters
    ----------
    estimator : estimator
        Decides the kind of ``y``.
    n_samples : int, default=24
        Number of essays; the labels hold at least two of each of their classes.

    Returns
    -------
    X : list of str
    y : ndarray, DataFrame or None
        None for a transformer that learns without targets.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from skempathy.utils.estimator_checks import text_check_data
    >>> X, y = text_check_data(Ridge())
    >>> len(X), y.dtype.kind
    (24, 'f')
    """
    from ..datasets import load_wassa

    frame = load_wassa("train").frame
    # the two largest emotions alternate, so every class has several essays in any half
    top = frame["emotion"].value_counts().index[:2]
    picked = frame[frame["emotion"].isin(top)].groupby("emotion").head(n_samples // 2)
    picked = picked.iloc[np.argsort(np.tile(np.arange(n_samples // 2), 2), kind="stable")]
    X = picked["essay"].tolist()
    tags = estimator.__sklearn_tags__()
    if (
        tags.target_tags.multi_output
        and tags.target_tags.required
        and not (is_classifier(estimator) or is_regressor(estimator))
    ):
        return X, picked[["emotion", "empathy"]].reset_index(drop=True)
    if is_classifier(estimator):
        return X, picked["emotion"].to_numpy()
    if is_regressor(estimator) or tags.target_tags.required:
        return X, picked["empathy"].to_numpy(float)
    return X, None


def _fitted(estimator, X, y, **fit_params):
    estimator = clone(estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # truncation notices of tiny models
        return estimator.fit(X, y, **fit_params) if y is not None else estimator.fit(X)


def _arrays(label, result):
    """``{label: ndarray}`` of one output: DataFrames by column, dicts by key."""
    if isinstance(result, dict):
        return {
            k: v
            for key, value in result.items()
            for k, v in _arrays(f"{label}[{key}]", value).items()
        }
    if hasattr(result, "columns"):
        return {f"{label}[{col}]": result[col].to_numpy() for col in result.columns}
    return {label: result.to_numpy() if hasattr(result, "to_numpy") else np.asarray(result)}


def _outputs(estimator, X):
    """``{method: array}`` of every prediction method the fitted estimator has."""
    out = {}
    for method in _METHODS:
        if hasattr(estimator, method):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                out.update(_arrays(method, getattr(estimator, method)(X)))
    return out


def _fingerprint(value):
    """Bytes that change when ``value`` changes (torch modules: their tensors)."""
    try:
        return pickle.dumps(value)
    except Exception:
        if hasattr(value, "state_dict"):
            return b"".join(t.detach().cpu().numpy().tobytes() for t in value.state_dict().values())
        return repr(value).encode()


def _assert_same(a, b, what):
    for method in a:
        x, y = a[method], b[method]
        if (
            x.dtype.kind in "fcO"
            and y.dtype.kind in "fcO"
            and all(
                isinstance(v, (float, np.floating, int, np.integer))
                for v in np.ravel(x)[:5].tolist() + np.ravel(y)[:5].tolist()
            )
        ):
            np.testing.assert_allclose(
                np.asarray(x, float),
                np.asarray(y, float),
                rtol=_RTOL,
                atol=_ATOL,
                err_msg=f"{what}: {method} differs",
            )
        else:
            np.testing.assert_array_equal(x, y, err_msg=f"{what}: {method} differs")


def check_fit_returns_self_and_is_idempotent(name, estimator, X, y):
    """``fit`` returns the estimator; fitting twice gives the same outputs."""
    est = clone(estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert (est.fit(X, y) if y is not None else est.fit(X)) is est, f"{name}.fit returns self"
    first = _outputs(est, X)
    _assert_same(first, _outputs(_fitted(est, X, y), X), f"{name} fitted twice")


def check_sample_order_invariance(name, estimator, X, y):
    """The output of a permuted input is the permuted output."""
    est = _fitted(estimator, X, y)
    order = np.random.RandomState(0).permutation(len(X))
    whole = _outputs(est, X)
    _assert_same(
        {m: v[order] for m, v in whole.items()},
        _outputs(est, [X[i] for i in order]),
        f"{name} on permuted rows",
    )


def check_subset_invariance(name, estimator, X, y):
    """Outputs on a subset (another batch) equal the subset of the outputs."""
    est = _fitted(estimator, X, y)
    whole = _outputs(est, X)
    _assert_same(
        {m: v[:5] for m, v in whole.items()},
        _outputs(est, X[:5]),
        f"{name} on the first rows alone",
    )


def check_feature_names(name, estimator, X, y):
    """Fitted on a one-column DataFrame: ``n_features_in_ == 1`` and ``feature_names_in_``;
    on a list: ``n_features_in_ == 1`` and no ``feature_names_in_``."""
    import pandas as pd

    est = _fitted(estimator, pd.DataFrame({"essay": X}), y)
    assert getattr(est, "n_features_in_", None) == 1, f"{name}.n_features_in_ is not 1"
    names = getattr(est, "feature_names_in_", None)
    assert names is not None and list(names) == ["essay"], (
        f"{name}.feature_names_in_ is {names!r}, expected ['essay']"
    )
    est = _fitted(estimator, X, y)
    assert getattr(est, "n_features_in_", None) == 1, f"{name}.n_features_in_ is not 1"
    assert not hasattr(est, "feature_names_in_"), f"{name} invented feature_names_in_ for a list"


def check_unfitted(name, estimator, X, y):
    """Every prediction method of an unfitted estimator raises ``NotFittedError``."""
    est = clone(estimator)
    for method in _METHODS:
        if hasattr(est, method):
            try:
                getattr(est, method)(X)
            except NotFittedError:
                continue
            raise AssertionError(f"{name}.{method} before fit did not raise NotFittedError")


def _raises(func, errors, match, what):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            func()
    except errors as exc:
        assert any(m in str(exc).lower() for m in match), (
            f"{what}: the message {str(exc)!r} says none of {match}"
        )
        return
    raise AssertionError(f"{what}: no error")


def check_bad_texts(name, estimator, X, y):
    """Empty input, a missing (NaN/None) or empty text and numbers fail with a message that
    says what is wrong, in ``fit`` and in prediction."""

    def fit(data, target=y):
        return _fitted(estimator, data, target)

    y_of = (
        (lambda rows: None)
        if y is None
        else (lambda rows: y.iloc[rows] if hasattr(y, "iloc") else y[rows])
    )
    _raises(
        lambda: fit([], y_of(slice(0, 0))),
        (ValueError,),
        ["0 ", "empty"],
        f"{name}.fit on no texts",
    )
    for bad, words in (
        (None, ["missing", "nan", "none"]),
        (np.nan, ["missing", "nan"]),
        ("   ", ["empty"]),
    ):
        texts = list(X)
        texts[3] = bad
        _raises(
            lambda: fit(texts),
            (ValueError, TypeError),
            words + ["position 3"],
            f"{name}.fit with {bad!r} at position 3",
        )
    _raises(
        lambda: fit(np.arange(len(X), dtype=float).reshape(-1, 1)),
        (TypeError, ValueError),
        ["text", "str"],
        f"{name}.fit on numbers",
    )
    est = fit(X)
    texts = list(X[:4])
    texts[1] = None
    for method in [m for m in _METHODS if hasattr(est, m)]:
        _raises(
            lambda: getattr(est, method)(texts),
            (ValueError, TypeError),
            ["missing", "nan", "none", "position 1"],
            f"{name}.{method} with None",
        )


def check_nan_in_y(name, estimator, X, y):
    """A missing target fails in ``fit`` with a message."""
    if y is None:
        return
    if hasattr(y, "iloc"):
        bad = y.copy()
        bad.iloc[2, 0] = None
    else:
        bad = np.array(y, dtype=float if np.asarray(y).dtype.kind == "f" else object)
        bad[2] = np.nan if bad.dtype.kind == "f" else None
    _raises(
        lambda: _fitted(estimator, X, bad),
        (ValueError, TypeError),
        ["nan", "missing", "none", "input y", "contains"],
        f"{name}.fit with a missing y",
    )


def check_sample_weight(name, estimator, X, y):
    """Unit weights change nothing; for estimators that are not fine-tuned, integer weights
    equal repeated rows. (Fine-tuned estimators normalise weights per batch, so a constant
    weight of 2 must equal unit weights instead.)"""
    import inspect

    if y is None or "sample_weight" not in inspect.signature(estimator.fit).parameters:
        return
    base = _outputs(_fitted(estimator, X, y), X)
    _assert_same(
        base,
        _outputs(_fitted(estimator, X, y, sample_weight=np.ones(len(X))), X),
        f"{name} with unit sample_weight",
    )
    if hasattr(estimator, "max_epochs"):  # fine-tuned: batches differ with repeated rows
        _assert_same(
            base,
            _outputs(_fitted(estimator, X, y, sample_weight=np.full(len(X), 2.0)), X),
            f"{name} with sample_weight 2 everywhere",
        )
        return
    weights = np.tile([1, 2], len(X) // 2 + 1)[: len(X)]
    rows = np.repeat(np.arange(len(X)), weights)
    repeated = _fitted(
        estimator, [X[i] for i in rows], y.iloc[rows] if hasattr(y, "iloc") else y[rows]
    )
    _assert_same(
        _outputs(_fitted(estimator, X, y, sample_weight=weights), X),
        _outputs(repeated, X),
        f"{name}: integer weights vs repeated rows",
    )


def check_predict_does_not_change_the_estimator(name, estimator, X, y):
    """Prediction leaves the fitted estimator's public state as it was."""
    est = _fitted(estimator, X, y)
    before = {k: _fingerprint(v) for k, v in vars(est).items() if not k.startswith("_")}
    _outputs(est, X[:3])
    after = {k: _fingerprint(v) for k, v in vars(est).items() if not k.startswith("_")}
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"{name}: prediction changed {changed}"


def check_pickle(name, estimator, X, y):
    """A pickled fitted estimator gives the same outputs."""
    est = _fitted(estimator, X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        restored = pickle.loads(pickle.dumps(est))
    _assert_same(_outputs(est, X[:6]), _outputs(restored, X[:6]), f"{name} after pickling")


def check_clone_of_fitted(name, estimator, X, y):
    """``clone`` of a fitted estimator is unfitted, with equal parameters."""
    est = _fitted(estimator, X, y)
    copy = clone(est)
    assert not any(k.endswith("_") and not k.startswith("_") for k in vars(copy)), (
        f"{name}: clone kept fitted attributes"
    )
    assert repr(copy.get_params(deep=False)) == repr(est.get_params(deep=False))
    check_unfitted(name, copy, X, y)


_TEXT_CHECKS = [
    check_fit_returns_self_and_is_idempotent,
    check_sample_order_invariance,
    check_subset_invariance,
    check_feature_names,
    check_unfitted,
    check_bad_texts,
    check_nan_in_y,
    check_sample_weight,
    check_predict_does_not_change_the_estimator,
    check_pickle,
    check_clone_of_fitted,
]
# scikit-learn's checks that need no data
_API_CHECKS = [
    sk.check_estimator_cloneable,
    sk.check_estimator_repr,
    sk.check_no_attributes_set_in_init,
    sk.check_parameters_default_constructible,
    sk.check_get_params_invariance,
    sk.check_set_params,
    sk.check_estimator_tags_renamed,
    sk.check_valid_tag_types,
    sk.check_mixin_order,
]


def _yield_checks(estimator, X=None, y=None):
    if X is None:
        X, y = text_check_data(estimator)
    name = type(estimator).__name__
    for check in _API_CHECKS:
        yield check.__name__, partial(check, name)
    for check in _TEXT_CHECKS:
        yield check.__name__, partial(check, name, X=X, y=y)


def check_estimator(estimator, *, X=None, y=None, expected_failed_checks=None):
    """Run every check on ``estimator``; raise the first unexpected failure.

    Parameters
    ----------
    estimator : estimator
        Unfitted; takes raw texts.
    X, y : list of str and array-like, default=None
        Data for the checks (default: :func:`text_check_data`). Give them for an estimator
        whose targets are not emotions or scores (e.g. responses of a retriever).
    expected_failed_checks : dict, default=None
        ``{check name: reason}`` of checks allowed to fail.

    Returns
    -------
    failed : dict
        ``{check name: exception}`` of the expected failures that did fail.

    Examples
    --------
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from skempathy.utils.estimator_checks import check_estimator
    >>> pipe = make_pipeline(TfidfVectorizer(), LogisticRegression())
    >>> failed = check_estimator(pipe, expected_failed_checks={
    ...     "check_bad_texts": "TfidfVectorizer fails on None with an AttributeError",
    ...     "check_feature_names": "TfidfVectorizer reads a DataFrame as its column names"})
    >>> sorted(failed)
    ['check_bad_texts', 'check_feature_names']
    """
    expected = expected_failed_checks or {}
    failed = {}
    for check_name, check in _yield_checks(estimator, X, y):
        try:
            check(estimator)
        except Exception as exc:
            if check_name not in expected:
                raise
            failed[check_name] = exc
    return failed


def parametrize_with_checks(estimators, *, expected_failed_checks=None):
    """A ``pytest.mark.parametrize`` over (estimator, check) for text estimators.

    Parameters
    ----------
    estimators : list of estimators or of ``(estimator, X, y)``
        Unfitted instances; a tuple gives the data of its checks.
    expected_failed_checks : callable, default=None
        ``expected_failed_checks(estimator) -> {check name: reason}``; those checks are
        marked ``xfail`` (strict where the test suite sets ``xfail_strict``).

    Returns
    -------
    decorator
        Parametrizes ``estimator`` and ``check``; the test body calls ``check(estimator)``.

    Examples
    --------
    >>> from skempathy.text import SentenceEmbedder
    >>> from skempathy.utils.estimator_checks import parametrize_with_checks
    >>> @parametrize_with_checks([SentenceEmbedder()])
    ... def test_text_estimator(estimator, check):
    ...     check(estimator)
    """
    import pytest

    params = []
    for item in estimators:
        estimator, X, y = item if isinstance(item, tuple) else (item, None, None)
        expected = expected_failed_checks(estimator) if expected_failed_checks else {}
        for check_name, check in _yield_checks(estimator, X, y):
            marks = (
                [pytest.mark.xfail(reason=expected[check_name])] if check_name in expected else []
            )
            params.append(
                pytest.param(
                    estimator, check, marks=marks, id=f"{type(estimator).__name__}-{check_name}"
                )
            )
    return pytest.mark.parametrize("estimator, check", params)
