"""Warming: work done once in the caller before copies of a model are fitted in workers.

A meta-estimator or a comparison fits clones of its members on subsets of one input ``X``,
often in other processes (loky, Dask, Ray) that share no memory. A component whose work on
``X`` does not depend on the subset (a frozen text embedder's vectors) can do it once, in the
caller, through a small protocol:

``component.__skempathy_warm__(X)``
    Returns a picklable *warm state*, or None when there is nothing to share (caching off,
    input the component would refuse). A warm state has ``key`` (equal keys: equal states,
    sent once) and ``restore()``, which makes the state available in the process that calls
    it (a worker's memory cache).

:func:`warm_states` finds the components that read ``X`` as it is (the estimator itself,
the first step of a ``Pipeline``, the parts of a ``ColumnTransformer`` or ``FeatureUnion``,
the ``estimator`` of a wrapper, the members of an ``estimators`` list) and collects their
states; the jobs carry them and call :func:`restore_warm_states` before fitting. Doing it for
sequential runs too keeps the scores identical whatever the backend: every fit reads the same
vectors. The meta-estimators need not know what a component warms.

``component.__skempathy_fit_sources__()``
    Returns ``{key: read}``: what the component will read from outside its input in ``fit``
    (a corpus on disk), each as a function of no argument that reads it. :func:`check_fit_sources`
    calls each distinct key once (members sharing one corpus read it once), so an ensemble
    fails before any member is trained rather than after the first ones.
"""

import warnings

from ._sklearn_compat import _safe_indexing

__all__ = ["check_fit_sources", "restore_warm_states", "warm_states"]

# Parameters through which wrappers hand their input on unchanged.
_WRAPPED = ("estimator", "regressor", "classifier", "base_estimator")


def _readers(estimator, X):
    """``(component, its input)`` pairs of the components that see ``X`` as it is."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import FeatureUnion, Pipeline

    if hasattr(estimator, "__skempathy_warm__"):
        yield estimator, X
    elif isinstance(estimator, Pipeline):
        steps = [s for _, s in estimator.steps if s not in (None, "passthrough")]
        if steps:
            yield from _readers(steps[0], X)
    elif isinstance(estimator, FeatureUnion):
        for _, part in estimator.transformer_list:
            if part not in (None, "drop", "passthrough"):
                yield from _readers(part, X)
    elif isinstance(estimator, ColumnTransformer):
        for _, part, columns in estimator.transformers:
            if part in ("drop", "passthrough"):
                continue
            try:
                selected = columns(X) if callable(columns) else columns
                sub = _safe_indexing(X, selected, axis=1)
            except (KeyError, IndexError, ValueError, TypeError):
                continue  # a selection only fit can make: the workers do it
            yield from _readers(part, sub)
    else:
        params = estimator.get_params(deep=False) if hasattr(estimator, "get_params") else {}
        for name in _WRAPPED:
            inner = params.get(name)
            if inner is not None and hasattr(inner, "fit"):
                yield from _readers(inner, X)
        members = params.get("estimators")
        if isinstance(members, (list, tuple)):
            for member in members:
                inner = member[-1] if isinstance(member, tuple) else member
                if hasattr(inner, "fit"):
                    yield from _readers(inner, X)


def warm_states(estimators, X):
    """The warm states of every component of ``estimators`` that reads ``X`` as it is.

    Parameters
    ----------
    estimators : iterable of estimators
        Unfitted models about to be fitted on subsets of ``X``.
    X : array-like or DataFrame
        The whole input the jobs index into.

    Returns
    -------
    list
        One state per distinct key; empty when no component warms.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> warm_states([Ridge()], [[0.0], [1.0]])
    []
    """
    states, keys = [], set()
    with warnings.catch_warnings():  # the fits in the jobs warn about their own input
        warnings.simplefilter("ignore")
        for estimator in estimators:
            for component, inputs in _readers(estimator, X):
                state = component.__skempathy_warm__(inputs)
                if state is not None and state.key not in keys:
                    keys.add(state.key)
                    states.append(state)
    return states


def restore_warm_states(states):
    """Make ``states`` (from :func:`warm_states`) available in this process."""
    for state in states:
        state.restore()


def check_fit_sources(estimators):
    """Let every component of ``estimators`` that reads a source in ``fit`` read it now.

    A source shared by several components (one corpus for three members) is read once.

    Parameters
    ----------
    estimators : iterable of estimators
        Unfitted models about to be fitted; every nested estimator is visited.

    Returns
    -------
    int
        The number of distinct sources read.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> check_fit_sources([Ridge()])
    0
    """
    sources = {}
    for estimator in estimators:
        params = estimator.get_params(deep=True) if hasattr(estimator, "get_params") else {}
        for component in [estimator, *params.values()]:
            found = getattr(component, "__skempathy_fit_sources__", None)
            if callable(found) and not isinstance(component, type):
                for key, read in found().items():
                    sources.setdefault(key, read)
    for read in sources.values():
        read()
    return len(sources)
