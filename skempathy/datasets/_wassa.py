"""The WASSA 2021 shared-task essays (bundled) and Buechel et al. (2018) NewsEmp."""

from sklearn.utils import Bunch

from ._base import load_descr, read_bundled_csv

__all__ = ["load_wassa", "load_newsemp", "WASSA_COLUMN_GROUPS", "WASSA_CODEBOOKS"]

WASSA_COLUMN_GROUPS = {
    "text": ["essay"],
    "demographic": ["gender", "education", "race", "age", "income"],
    "personality": [
        "personality_conscientiousness",
        "personality_openness",
        "personality_extraversion",
        "personality_agreeableness",
        "personality_stability",
    ],
    "iri": [
        "iri_perspective_taking",
        "iri_personal_distress",
        "iri_fantasy",
        "iri_empathic_concern",
    ],
}

WASSA_CODEBOOKS = {
    "gender": {1: "male", 2: "female", 5: "other"},
    "race": {
        1: "White",
        2: "Hispanic or Latino",
        3: "Black or African American",
        4: "Native American or American Indian",
        5: "Asian or Pacific Islander",
        6: "Other",
    },
    "education": {
        1: "Less than a high school diploma",
        2: "High school degree or diploma",
        3: "Technical or vocational school",
        4: "Some college",
        5: "Two-year associate degree",
        6: "College or university degree",
        7: "Postgraduate or professional degree",
    },
}

WASSA_TARGETS = ["empathy", "distress", "emotion"]
ID_COLUMNS = ["message_id", "response_id", "article_id"]
_SPLITS = ("train", "dev", "test")


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"Unknown {name} {value!r}; expected one of {list(choices)}.")


def _target_list(target, available, split):
    names = [target] if isinstance(target, str) else list(target)
    if not names:
        raise ValueError("target must name at least one column.")
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"target names must be strings, got {name!r}")
        if name not in available:
            if split == "test" and name in WASSA_TARGETS:
                raise ValueError(
                    f"The WASSA test split has no gold labels ({name!r} was asked for): the 525 "
                    "test essays are for blind predictions only. Use split='dev' to evaluate."
                )
            raise ValueError(
                f"Unknown target {name!r} for split {split!r}; available: {list(available)}."
            )
    return names


def load_wassa(
    split="train",
    *,
    target=("empathy", "distress", "emotion"),
    as_frame=True,
    return_X_y=False,
    edition=2021,
):
    """Load the WASSA 2021 empathy / distress / emotion essays (bundled, offline).

    1860 train and 270 dev essays with gold ``empathy`` and ``distress``
    (1-7, Batson scale averages) and ``emotion`` (7 classes); 525 test essays
    with features only. Every writer (``response_id``) wrote 5 essays, so use
    ``groups`` with a grouped splitter for cross-validation.

    Read more in ``DESCR`` (provenance, column meanings, licence).

    Parameters
    ----------
    split : {"train", "dev", "test"}, default="train"
        Which split.
    target : str or list of str, default=("empathy", "distress", "emotion")
        Target column(s). One name gives a 1-D ``y``; a list gives a 2-D ``y``
        (multi-output). With ``edition=2022`` the personality and IRI columns
        are targets too. Ignored for ``split="test"`` unless asked for
        explicitly, which raises (the test split has no gold labels).
    as_frame : bool, default=True
        Return pandas objects. With ``False``, ``data`` is an object ndarray and
        ``target`` an ndarray.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    edition : {2021, 2022}, default=2021
        2021: personality and IRI are features on every split. 2022: they were
        prediction targets, so dev/test features are text + demographics only,
        and personality/IRI are targets of train and dev.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (features), ``target`` (None for test), ``frame`` (ids,
        features and targets), ``feature_names``, ``target_names``,
        ``column_groups`` (``text``, ``demographic``, ``personality``, ``iri``;
        only groups present in ``data``), ``groups`` (writer ids),
        ``codebooks`` (gender, race and education codes), ``DESCR``.
    (data, target) : tuple if ``return_X_y`` is True.

    Raises
    ------
    ValueError
        Unknown split, edition or target, or targets asked of the test split.

    Examples
    --------
    >>> from skempathy.datasets import load_wassa
    >>> wassa = load_wassa("train")
    >>> wassa.frame.shape[0]
    1860
    >>> X, y = load_wassa("dev", target="emotion", return_X_y=True)
    >>> sorted(y.unique())[:3]
    ['anger', 'disgust', 'fear']
    """
    _check_choice("split", split, _SPLITS)
    _check_choice("edition", edition, (2021, 2022))
    frame = read_bundled_csv(f"wassa2021_{split}.csv.gz")
    groups_present = dict(WASSA_COLUMN_GROUPS)
    available_targets = [t for t in WASSA_TARGETS if t in frame]
    if edition == 2022:
        person = WASSA_COLUMN_GROUPS["personality"] + WASSA_COLUMN_GROUPS["iri"]
        groups_present = {
            k: v for k, v in WASSA_COLUMN_GROUPS.items() if k in ("text", "demographic")
        }
        if split == "test":
            frame = frame.drop(columns=person)  # they were blind targets in 2022
        else:
            available_targets += person
    feature_names = [c for group in groups_present.values() for c in group]

    default_target = isinstance(target, tuple) and target == ("empathy", "distress", "emotion")
    if split == "test" and default_target:
        target_names = []
    else:
        target_names = _target_list(target, available_targets, split)

    data = frame[feature_names].copy()
    if target_names:
        y = frame[target_names[0]] if isinstance(target, str) else frame[target_names]
    else:
        y = None
    frame = frame[
        ID_COLUMNS + feature_names + [t for t in available_targets if t not in feature_names]
    ]
    groups = frame["response_id"].rename("response_id")
    if not as_frame:
        data = data.to_numpy(dtype=object)
        y = None if y is None else y.to_numpy()
    if return_X_y:
        return data, y
    return Bunch(
        data=data,
        target=y,
        frame=frame,
        feature_names=feature_names,
        target_names=target_names,
        column_groups={k: list(v) for k, v in groups_present.items()},
        groups=groups if as_frame else groups.to_numpy(),
        codebooks={k: dict(v) for k, v in WASSA_CODEBOOKS.items()},
        DESCR=load_descr("wassa"),
    )


def load_newsemp(*, target=("empathy", "distress"), as_frame=True, return_X_y=False):
    """Load the Buechel et al. (2018) empathic-reactions messages (bundled).

    1860 essays written in reaction to news articles, rated for empathy and
    distress (1-7); ``empathy_bin`` / ``distress_bin`` are the binary labels of
    the NewsEmp classification task (1 = above the median split of the
    original paper). These are the same essays as the WASSA train split.

    Parameters
    ----------
    target : str or list of str, default=("empathy", "distress")
        Any of ``"empathy"``, ``"distress"``, ``"empathy_bin"``, ``"distress_bin"``.
    as_frame : bool, default=True
        Return pandas objects.
    return_X_y : bool, default=False
        Return ``(texts, target)``: ``texts`` is the ``essay`` Series.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (essay texts), ``target``, ``frame``, ``feature_names``
        (``["essay"]``), ``target_names``, ``groups`` (writer ids), ``DESCR``.

    Examples
    --------
    >>> from skempathy.datasets import load_newsemp
    >>> texts, y = load_newsemp(target="empathy_bin", return_X_y=True)
    >>> len(texts), sorted(y.unique().tolist())
    (1860, [0, 1])
    """
    frame = read_bundled_csv("newsemp_messages.csv.gz")
    available = ["empathy", "distress", "empathy_bin", "distress_bin"]
    names = _target_list(target, available, "newsemp")
    data = frame["essay"]
    y = frame[names[0]] if isinstance(target, str) else frame[names]
    if not as_frame:
        data, y = data.to_numpy(dtype=object), y.to_numpy()
    if return_X_y:
        return data, y
    return Bunch(
        data=data,
        target=y,
        frame=frame,
        feature_names=["essay"],
        target_names=names,
        groups=frame["response_id"],
        DESCR=load_descr("newsemp"),
    )
