"""Public texts to distil on (their labels are never read)."""

import numpy as np
import pandas as pd

__all__ = ["UNLABELED_SOURCES", "unlabeled_texts"]

# source -> (what, licence)
UNLABELED_SOURCES = {
    "wassa": (
        "WASSA 2021 dev and test essays (bundled; texts only, never labels)",
        "CC BY 4.0 (Buechel et al. 2018 essays)",
    ),
    "newsemp": (
        "Buechel et al. 2018 NewsEmp essays (bundled); the same essays as the WASSA "
        "2021 training set",
        "CC BY 4.0",
    ),
    "empatheticdialogues": (
        "EmpatheticDialogues situation prompts, one per conversation: "
        "first-person accounts of an emotion",
        "CC BY-NC 4.0 (non-commercial)",
    ),
    "goemotions": (
        "GoEmotions Reddit comments (training split)",
        "no data licence stated by the release; Reddit content",
    ),
    "dailydialog": (
        "DailyDialog utterances (training split): everyday written conversations",
        "CC BY-NC-SA 4.0 (non-commercial)",
    ),
    "isear": (
        "ISEAR situation descriptions: first-person accounts of an emotion",
        "GPL-3.0 extract; the survey's original terms may apply",
    ),
}


def unlabeled_texts(
    sources=("wassa",),
    *,
    empathetic_dialogues=None,
    dailydialog=None,
    data_home=None,
    max_per_source=None,
    exclude=None,
    random_state=0,
):
    """A pool of public texts for :class:`Distiller`'s ``X_unlabeled``.

    Texts are stripped, empty ones dropped and duplicates removed (across
    sources too, and against ``exclude``). Check each source's licence against
    your use: ``UNLABELED_SOURCES`` lists them.

    Parameters
    ----------
    sources : sequence of str, default=("wassa",)
        Any of ``"wassa"`` (WASSA 2021 dev and test essays), ``"newsemp"``,
        ``"empatheticdialogues"`` (needs ``empathetic_dialogues``),
        ``"dailydialog"`` (needs ``dailydialog``), ``"goemotions"`` and
        ``"isear"`` (read with :func:`skempathy.datasets.fetch_goemotions` and
        :func:`skempathy.datasets.fetch_isear`).
    empathetic_dialogues : str or path-like, default=None
        The EmpatheticDialogues folder of the original CSV files, or the
        EmpatheticIntents CSV (``.csv`` or ``.csv.gz``).
    dailydialog : str or path-like, default=None
        The DailyDialog folder (see
        :func:`skempathy.dialogue.load_dailydialog`).
    data_home : str or path-like, default=None
        Cache folder of the downloadable corpora (GoEmotions, ISEAR).
    max_per_source : int, default=None
        Keep at most this many texts per source (a random sample).
    exclude : iterable of str, default=None
        Texts to leave out, e.g. the training texts.
    random_state : int, default=0
        Seeds the sampling of ``max_per_source``.

    Returns
    -------
    pool : DataFrame
        Columns ``text`` and ``source``, one row per distinct text.

    Examples
    --------
    >>> from skempathy.datasets import load_wassa
    >>> from skempathy.distill import unlabeled_texts
    >>> pool = unlabeled_texts(["wassa"], exclude=load_wassa("train").data["essay"])
    >>> pool["source"].unique().tolist(), len(pool) > 700
    (['wassa'], True)
    """
    unknown = [s for s in sources if s not in UNLABELED_SOURCES]
    if unknown:
        raise ValueError(f"unknown source(s) {unknown}; choose from {list(UNLABELED_SOURCES)}")
    rng = np.random.RandomState(random_state)
    seen = {str(t).strip() for t in (exclude if exclude is not None else [])}
    parts = []
    for source in dict.fromkeys(sources):
        texts = pd.Series(_read(source, empathetic_dialogues, dailydialog, data_home), dtype=object)
        texts = texts.dropna().astype(str).str.strip()
        texts = texts[(texts != "") & ~texts.isin(seen)].drop_duplicates()
        if max_per_source is not None and len(texts) > max_per_source:
            texts = texts.iloc[np.sort(rng.choice(len(texts), max_per_source, replace=False))]
        seen.update(texts)
        parts.append(pd.DataFrame({"text": texts.to_numpy(), "source": source}))
    return pd.concat(parts, ignore_index=True)


def _read(source, empathetic_dialogues, dailydialog, data_home):
    import os
    import warnings

    from ..datasets import fetch_goemotions, fetch_isear, load_newsemp, load_wassa

    if source == "wassa":
        return [t for split in ("dev", "test") for t in load_wassa(split).data["essay"]]
    if source == "newsemp":
        return list(load_newsemp().frame["essay"])
    if source == "goemotions":
        return list(fetch_goemotions("train", data_home=data_home).data)
    if source == "isear":
        return list(fetch_isear(data_home=data_home).data)
    if source == "dailydialog":
        if dailydialog is None:
            raise ValueError(
                "the 'dailydialog' source needs dailydialog=<path to the DailyDialog folder>"
            )
        from ..dialogue import DialogueDataWarning, load_dailydialog

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DialogueDataWarning)
            return list(load_dailydialog(dailydialog, split="train")["text"])
    if empathetic_dialogues is None:
        raise ValueError(
            "the 'empatheticdialogues' source needs empathetic_dialogues=<path to "
            "the folder of the original CSV files or the EmpatheticIntents CSV>"
        )
    from ..dialogue import DialogueDataWarning, load_empathetic_dialogues, load_empathetic_intents

    path = os.fspath(empathetic_dialogues)
    loader = (
        load_empathetic_intents
        if ".csv" in os.path.basename(path) and "intents" in os.path.basename(path).lower()
        else load_empathetic_dialogues
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DialogueDataWarning)
        frame = loader(path)
    return list(frame.drop_duplicates("conv_id")["prompt"])
