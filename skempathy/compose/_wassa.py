"""ColumnTransformer and Pipeline builders for the WASSA essay data."""

import numbers

import numpy as np

from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

__all__ = ["WassaPipeline", "make_preprocessor", "make_wassa_pipeline", "HEADS", "FEATURE_GROUPS"]

from ..base import _check_no_missing
from ..datasets import WASSA_CODEBOOKS, WASSA_COLUMN_GROUPS

# The column groups of the WASSA frames, split by how each column is encoded: the coded
# columns (those with a codebook) one-hot, the others scaled.
_CATEGORICAL = [c for c in WASSA_COLUMN_GROUPS["demographic"] if c in WASSA_CODEBOOKS]
FEATURE_GROUPS = {
    "text": {"text": WASSA_COLUMN_GROUPS["text"][0]},
    "demographic": {
        "categorical": _CATEGORICAL,
        "numeric": [c for c in WASSA_COLUMN_GROUPS["demographic"] if c not in _CATEGORICAL],
    },
    "personality": {"numeric": list(WASSA_COLUMN_GROUPS["personality"])},
    "iri": {"numeric": list(WASSA_COLUMN_GROUPS["iri"])},
}
_DEFAULT_NUMERIC = [
    c for g in ("demographic", "personality", "iri") for c in FEATURE_GROUPS[g].get("numeric", [])
]

HEADS = ("svr", "adaboost", "xgboost", "mlp", "ridge", "logreg")
_REGRESSION_TARGETS = ("empathy", "distress")


class WassaPipeline(Pipeline):
    """A scikit-learn ``Pipeline`` that names the target column holding missing labels.

    :func:`make_wassa_pipeline` returns one. It is a ``Pipeline`` in every
    respect (steps, ``set_params``, metadata routing, pickling); ``fit`` first
    checks ``y``: a missing label (NaN or None) raises a ``ValueError`` that
    names the column and the first position, where the head alone would only
    say that the input contains NaN.

    Parameters
    ----------
    steps : list of (str, estimator) tuples
        The steps, as for ``Pipeline``.
    transform_input : list of str, default=None
        Fit parameters that are transformed along with ``X`` (``Pipeline``'s
        metadata routing).
    memory : str or object with the joblib.Memory interface, default=None
        Caches the fitted transformers, as for ``Pipeline``.
    verbose : bool, default=False
        Print the time of each step's fit.

    Attributes
    ----------
    named_steps : Bunch
        The steps by name.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skempathy.compose import WassaPipeline
    >>> pipe = WassaPipeline([("head", Ridge())])
    >>> pipe.fit(np.eye(3), [1.0, 2.0, 3.0]).predict(np.eye(3)).shape
    (3,)
    """

    def __init__(self, steps, *, transform_input=None, memory=None, verbose=False):
        super().__init__(steps, transform_input=transform_input, memory=memory, verbose=verbose)

    def fit(self, X, y=None, **params):
        """Check ``y`` for missing labels, then fit as ``Pipeline.fit`` does.

        Parameters
        ----------
        X : iterable
            Training data (a WASSA frame for :func:`make_wassa_pipeline`).
        y : array-like, Series or DataFrame, default=None
            Targets; a DataFrame's columns are checked one by one.
        **params : dict
            Fit parameters, routed as by ``Pipeline``.

        Returns
        -------
        self : WassaPipeline
        """
        _check_targets(y)
        return super().fit(X, y, **params)


def _check_targets(y):
    if y is None:
        return
    columns = getattr(y, "columns", None)
    if columns is not None:
        for column in columns:
            _check_no_missing(y[column], who="WassaPipeline", column=column)
        return
    values = np.asarray(y, dtype=object)
    if values.ndim == 2:
        for j in range(values.shape[1]):
            _check_no_missing(values[:, j], who="WassaPipeline", column=j)
    else:
        _check_no_missing(values.ravel(), who="WassaPipeline", column=getattr(y, "name", None))


def make_preprocessor(
    text="essay", numeric="default", categorical="default", embedder=None, *, scale_text=True
):
    """Build the WASSA feature ColumnTransformer.

    The text column is embedded (and, by default, standard-scaled so that each
    embedding dimension weighs like one scaled numeric column); numeric columns
    are standard-scaled and categorical codes one-hot encoded (unknown
    categories ignored). Every scaler and encoder is fitted inside ``fit``, so
    in a Pipeline under cross-validation nothing is learned from dev/test rows.

    Parameters
    ----------
    text : str or None, default="essay"
        Name of the text column; None leaves text out.
    numeric : list of str, "default" or None, default="default"
        Numeric columns to scale. ``"default"``: age, income, the five
        personality and four IRI columns of :func:`~skempathy.datasets.load_wassa`.
    categorical : list of str, "default" or None, default="default"
        Coded categorical columns to one-hot encode. ``"default"``: gender,
        education, race.
    embedder : transformer or None, default=None
        Featurizer for the text column; None uses
        ``SentenceEmbedder("all-MiniLM-L6-v2")``.
    scale_text : bool, default=True
        Standard-scale the embeddings.

    Returns
    -------
    preprocessor : sklearn.compose.ColumnTransformer
        Blocks named ``text``, ``numeric`` and ``categorical``.

    Examples
    --------
    >>> from skempathy.compose import make_preprocessor
    >>> from skempathy.datasets import load_wassa
    >>> X, y = load_wassa("dev", target="empathy", return_X_y=True)
    >>> pre = make_preprocessor(numeric=["age"], categorical=["gender"])
    >>> Xt = pre.fit_transform(X.head(20))
    >>> pre.get_feature_names_out()[[0, 384]].tolist()
    ['text__sentenceembedder_0', 'numeric__age']
    """
    if numeric == "default":
        numeric = list(_DEFAULT_NUMERIC)
    if categorical == "default":
        categorical = list(_CATEGORICAL)
    blocks = []
    if text is not None:
        if not isinstance(text, str):
            raise TypeError(f"text must be one column name (str) or None, got {text!r}")
        if embedder is None:
            from ..text import SentenceEmbedder

            embedder = SentenceEmbedder()
        branch = make_pipeline(embedder, StandardScaler()) if scale_text else embedder
        blocks.append(("text", branch, text))
    if numeric:
        blocks.append(("numeric", StandardScaler(), list(numeric)))
    if categorical:
        blocks.append(
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                list(categorical),
            )
        )
    if not blocks:
        raise ValueError("make_preprocessor needs at least one of text, numeric or categorical.")
    return ColumnTransformer(blocks, remainder="drop", sparse_threshold=0.0)


def _task_kind(task):
    if isinstance(task, str):
        if task == "emotion":
            return "classification", ["emotion"]
        if task in _REGRESSION_TARGETS:
            return "regression", [task]
    elif (
        isinstance(task, (list, tuple))
        and task
        and all(t in _REGRESSION_TARGETS for t in task)
        and len(set(task)) == len(task)
    ):
        return ("regression", list(task)) if len(task) == 1 else ("multioutput", list(task))
    raise ValueError(
        f"task must be 'empathy', 'distress', 'emotion' or a list of 'empathy'/'distress', "
        f"got {task!r}."
    )


def _make_head(head, kind, random_state, n_jobs):
    """The head estimator with its tuned defaults (see docs/results.md)."""
    from sklearn.ensemble import AdaBoostClassifier, AdaBoostRegressor
    from sklearn.linear_model import LogisticRegression, Ridge, RidgeClassifier
    from sklearn.multioutput import MultiOutputRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.svm import SVC, SVR
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    if kind == "classification":
        if head == "svr":
            return SVC(C=1.0, class_weight="balanced", random_state=random_state)
        if head == "adaboost":
            return AdaBoostClassifier(
                DecisionTreeClassifier(max_depth=3),
                n_estimators=100,
                learning_rate=0.5,
                random_state=random_state,
            )
        if head == "xgboost":
            from xgboost import XGBClassifier

            from ._label import LabelEncodedClassifier

            return LabelEncodedClassifier(
                XGBClassifier(
                    n_estimators=300,
                    max_depth=3,
                    learning_rate=0.05,
                    subsample=0.8,
                    colsample_bytree=0.5,
                    random_state=random_state,
                    n_jobs=n_jobs,
                )
            )
        if head == "mlp":
            return MLPClassifier(
                hidden_layer_sizes=(256,),
                alpha=1.0,
                early_stopping=True,
                max_iter=300,
                random_state=random_state,
            )
        if head == "ridge":
            return RidgeClassifier(alpha=100.0, class_weight="balanced")
        return LogisticRegression(C=0.01, class_weight="balanced", max_iter=2000)
    if head == "logreg":
        raise ValueError("head='logreg' is a classifier; use it with task='emotion'.")
    multi = kind == "multioutput"
    if head == "svr":
        est = SVR(C=1.0, epsilon=0.1)
        return MultiOutputRegressor(est, n_jobs=n_jobs) if multi else est
    if head == "adaboost":
        est = AdaBoostRegressor(
            DecisionTreeRegressor(max_depth=3),
            n_estimators=100,
            learning_rate=0.1,
            random_state=random_state,
        )
        return MultiOutputRegressor(est, n_jobs=n_jobs) if multi else est
    if head == "xgboost":
        from xgboost import XGBRegressor

        return XGBRegressor(
            n_estimators=300,
            max_depth=3,
            learning_rate=0.05,
            subsample=0.8,
            colsample_bytree=0.5,
            random_state=random_state,
            n_jobs=n_jobs,
        )
    if head == "mlp":
        return MLPRegressor(
            hidden_layer_sizes=(256,),
            alpha=1.0,
            early_stopping=True,
            max_iter=300,
            random_state=random_state,
        )
    return Ridge(alpha=2000.0)


def make_wassa_pipeline(
    task="empathy",
    head="svr",
    features=("text", "demographic", "personality", "iri"),
    *,
    embedder=None,
    text_column="essay",
    random_state=0,
    n_jobs=1,
):
    """A ready Pipeline (preprocessor + head) for a WASSA 2021 task.

    Parameters
    ----------
    task : {"empathy", "distress", "emotion"} or list of {"empathy", "distress"}
        ``"emotion"`` builds a classifier over the 7 emotion labels; a list of
        both regression targets builds one multi-output regressor (fit it with
        a two-column ``y``).
    head : {"svr", "adaboost", "xgboost", "mlp", "ridge", "logreg"} or estimator, default="svr"
        The real sklearn / xgboost estimator with tuned defaults; for
        ``"emotion"``, ``"svr"`` means ``SVC`` and ``"ridge"`` means
        ``RidgeClassifier``. ``"logreg"`` is classification-only. XGBoost
        classifiers are wrapped in :class:`LabelEncodedClassifier`, so
        ``predict`` returns the emotion strings. SVR and AdaBoost are wrapped in
        ``MultiOutputRegressor`` for a two-target task. An estimator instance is
        used as it is.
    features : sequence of {"text", "demographic", "personality", "iri"}
        Column groups to use (see ``skempathy.datasets.WASSA_COLUMN_GROUPS``).
    embedder : transformer or None, default=None
        Text featurizer; None uses ``SentenceEmbedder()`` (embedded MiniLM).
    text_column : str, default="essay"
        Name of the text column.
    random_state : int or None, default=0
        Seed of the heads that use randomness.
    n_jobs : int or None, default=1
        Threads of XGBoost and jobs of ``MultiOutputRegressor``. One thread by
        default: XGBoost's OpenMP threads slow down by orders of magnitude when
        the CPUs are oversubscribed (``GridSearchCV(n_jobs=...)``, shared
        machines); parallelise the search instead, or raise it on a dedicated
        machine.

    Returns
    -------
    pipeline : WassaPipeline
        A scikit-learn ``Pipeline`` with the steps ``preprocessor`` (a
        ColumnTransformer) and ``head``, whose ``fit`` names a target column
        holding missing labels.

    Examples
    --------
    >>> from skempathy.compose import make_wassa_pipeline
    >>> from skempathy.datasets import load_wassa
    >>> X, y = load_wassa("train", target="emotion", return_X_y=True)
    >>> pipe = make_wassa_pipeline("emotion", head="logreg").fit(X[:200], y[:200])
    >>> pipe.predict(X[200:202]).dtype.kind
    'O'
    """
    kind, _ = _task_kind(task)
    if isinstance(features, str):
        features = (features,)
    unknown = [f for f in features if f not in FEATURE_GROUPS]
    if unknown or not features:
        raise ValueError(
            f"Unknown feature group(s) {unknown}; choose from {list(FEATURE_GROUPS)}."
            if unknown
            else "features must name at least one group."
        )
    numeric, categorical = [], []
    for group in features:
        numeric += FEATURE_GROUPS[group].get("numeric", [])
        categorical += FEATURE_GROUPS[group].get("categorical", [])
    preprocessor = make_preprocessor(
        text=text_column if "text" in features else None,
        numeric=numeric or None,
        categorical=categorical or None,
        embedder=embedder,
    )
    if isinstance(head, str):
        if head not in HEADS:
            raise ValueError(f"Unknown head {head!r}; choose from {list(HEADS)}.")
        if random_state is not None and not isinstance(random_state, numbers.Integral):
            raise TypeError("random_state must be an int or None.")
        estimator = _make_head(head, kind, random_state, n_jobs)
    elif hasattr(head, "fit") and hasattr(head, "predict"):
        estimator = head
    else:
        raise TypeError(f"head must be one of {list(HEADS)} or an estimator, got {head!r}.")
    return WassaPipeline([("preprocessor", preprocessor), ("head", estimator)])
