"""Loaders that turn dialogue corpora into one tidy conversation frame.

Every loader returns a :class:`pandas.DataFrame` with one row per utterance and
the columns ``conv_id`` (str), ``turn`` (int, the corpus's own utterance index),
``speaker`` (str) and ``text`` (str), plus whatever labels the corpus has:
``context`` (a conversation-level label, e.g. the EmpatheticDialogues emotion),
``emotion`` (a per-utterance gold label), ``split``...

The corpora are not bundled (their licences do not allow it): each loader takes
the path of the files as distributed. Rows that cannot be used are never dropped
silently: they are listed in a report (``return_report=True``) and summarised
in a :class:`DialogueDataWarning`.
"""

import ast
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "DialogueDataWarning",
    "validate_dialogues",
    "load_empathetic_dialogues",
    "load_empathetic_intents",
    "load_dailydialog",
    "load_meld",
    "load_emorynlp",
]

TIDY_COLUMNS = ["conv_id", "turn", "speaker", "text"]
_REPORT_COLUMNS = ["conv_id", "turn", "problem", "detail"]

DAILYDIALOG_EMOTIONS = {
    0: "neutral",
    1: "anger",
    2: "disgust",
    3: "fear",
    4: "happiness",
    5: "sadness",
    6: "surprise",
}
DAILYDIALOG_ACTS = {1: "inform", 2: "question", 3: "directive", 4: "commissive"}


class DialogueDataWarning(UserWarning):
    """Warns that a dialogue loader found rows it had to drop or flag."""


def _empty_report():
    return pd.DataFrame({c: pd.Series(dtype=object) for c in _REPORT_COLUMNS})


def _problem(conv_id, turn, problem, detail=""):
    return {"conv_id": conv_id, "turn": turn, "problem": problem, "detail": detail}


def validate_dialogues(frame, *, first_turn=None):
    """List the problems of a tidy conversation frame.

    Checks required columns, missing or empty texts, duplicate ``(conv_id, turn)``
    indices, gaps in the turn numbering and conversations with a single
    utterance.

    Parameters
    ----------
    frame : DataFrame
        Tidy conversation frame (``conv_id``, ``turn``, ``speaker``, ``text``).
    first_turn : int, default=None
        Index of the first turn in this corpus (e.g. 1 for EmpatheticDialogues);
        when given, conversations that do not start there are reported as
        missing their first turns.

    Returns
    -------
    report : DataFrame
        One row per problem with columns ``conv_id``, ``turn``, ``problem``
        (``"empty_text"``, ``"duplicate_turn"``, ``"missing_turn"``,
        ``"single_utterance"``) and ``detail``. Empty if the frame is clean.

    Examples
    --------
    >>> import pandas as pd
    >>> from skempathy.dialogue import validate_dialogues
    >>> frame = pd.DataFrame({"conv_id": ["a", "a", "a"], "turn": [1, 1, 3],
    ...                       "speaker": ["x", "y", "x"], "text": ["hi", "hey", "bye"]})
    >>> validate_dialogues(frame)["problem"].tolist()
    ['duplicate_turn', 'missing_turn']
    """
    missing = [c for c in TIDY_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"A conversation frame needs the columns {TIDY_COLUMNS}; missing {missing}. "
            "Use one of the skempathy.dialogue.load_* functions or rename your columns."
        )
    rows = []
    text = frame["text"]
    empty = text.isna() | ~text.map(lambda t: isinstance(t, str) and bool(t.strip()))
    for conv, turn in frame.loc[empty, ["conv_id", "turn"]].itertuples(index=False):
        rows.append(_problem(conv, turn, "empty_text", "missing or empty text"))
    dup = frame.duplicated(["conv_id", "turn"], keep="first")
    for conv, turn in frame.loc[dup, ["conv_id", "turn"]].itertuples(index=False):
        rows.append(_problem(conv, turn, "duplicate_turn", "second row with this (conv_id, turn)"))
    turns = frame.drop_duplicates(["conv_id", "turn"]).groupby("conv_id", sort=False)["turn"]
    for conv, values in turns:
        values = np.sort(values.to_numpy(dtype=np.int64))
        start = values[0] if first_turn is None else min(first_turn, values[0])
        expected = np.arange(start, values[-1] + 1)
        gaps = np.setdiff1d(expected, values)
        if len(gaps):
            rows.append(
                _problem(conv, int(gaps[0]), "missing_turn", f"turns {gaps.tolist()} absent")
            )
        if len(values) == 1:
            rows.append(
                _problem(
                    conv,
                    int(values[0]),
                    "single_utterance",
                    "conversation has one utterance (no transition)",
                )
            )
    if not rows:
        return _empty_report()
    return pd.DataFrame(rows, columns=_REPORT_COLUMNS)


def _finish(
    frame,
    parse_problems,
    *,
    corpus,
    first_turn=None,
    return_report=False,
    drop=("empty_text", "duplicate_turn"),
):
    """Validate, drop unusable rows (reported), sort, warn, and return."""
    frame = frame.reset_index(drop=True)
    frame["conv_id"] = frame["conv_id"].astype(str)
    frame["turn"] = frame["turn"].astype(np.int64)
    report = validate_dialogues(frame, first_turn=first_turn)
    empty = frame["text"].isna() | ~frame["text"].map(
        lambda t: isinstance(t, str) and bool(t.strip())
    )
    dup = frame.duplicated(["conv_id", "turn"], keep="first")
    remove = np.zeros(len(frame), dtype=bool)
    if "empty_text" in drop:
        remove |= empty.to_numpy()
    if "duplicate_turn" in drop:
        remove |= dup.to_numpy()
    frame = frame.loc[~remove]
    order = {c: i for i, c in enumerate(pd.unique(frame["conv_id"]))}
    frame = (
        frame.assign(_order=frame["conv_id"].map(order))
        .sort_values(["_order", "turn"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    if parse_problems:
        report = pd.concat(
            [pd.DataFrame(parse_problems, columns=_REPORT_COLUMNS), report], ignore_index=True
        )
    if len(report):
        counts = report["problem"].value_counts().to_dict()
        dropped = int(remove.sum()) + sum(1 for p in parse_problems if p["problem"] == "malformed")
        warnings.warn(
            f"{corpus}: {len(report)} problem(s) found {counts}; {dropped} row(s) dropped "
            "(malformed, empty or duplicate), the rest kept. Pass return_report=True to get "
            "the rows.",
            DialogueDataWarning,
            stacklevel=3,
        )
    if return_report:
        return frame, report.reset_index(drop=True)
    return frame


def _split_files(path, pattern, splits, default):
    """Resolve ``path`` (folder or file) and ``split`` into [(split_name, file)]."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist.")
    if path.is_file():
        return [(None, path)]
    if splits is None:
        splits = default
    elif isinstance(splits, str):
        splits = [splits]
    out = []
    for split in splits:
        candidate = path / pattern.format(split=split)
        if not candidate.exists():
            raise FileNotFoundError(
                f"No file for split {split!r} under {path}: expected {candidate.name}. "
                f"Available splits: {list(default)}."
            )
        out.append((split, candidate))
    return out


def load_empathetic_dialogues(path, *, split=None, return_report=False):
    """Load EmpatheticDialogues from the original CSV files (Rashkin et al. 2019).

    The original ``train.csv`` / ``valid.csv`` / ``test.csv`` have the header
    ``conv_id,utterance_idx,context,prompt,speaker_idx,utterance,selfeval,tags``;
    fields are separated by bare commas and commas inside texts are written
    ``_comma_``. Lines are split on commas (as the reference reader does), so a
    line with an unescaped comma cannot be parsed: it is reported as
    ``"malformed"``.

    Parameters
    ----------
    path : str or path-like
        A CSV file in the original format, or the folder holding
        ``train.csv``, ``valid.csv`` and ``test.csv``.
    split : {"train", "valid", "test"} or list, default=None
        Splits to read when ``path`` is a folder (None: all of them).
    return_report : bool, default=False
        Also return the problem report (see :func:`validate_dialogues`).

    Returns
    -------
    frame : DataFrame
        ``conv_id``, ``turn`` (= ``utterance_idx``, from 1), ``speaker``
        (``"speaker"`` on odd turns, the person who wrote the prompt;
        ``"listener"`` on even turns), ``text`` (``_comma_`` decoded),
        ``context`` (the 32-way emotion), ``prompt`` (the situation),
        ``speaker_idx`` (worker id), ``split`` (when read from a folder), and
        ``selfeval``/``tags`` when present.
    report : DataFrame
        Only if ``return_report``: malformed lines (dropped), duplicate turns
        (first kept), missing turns (kept) and single-utterance conversations.

    Examples
    --------
    >>> import tempfile, os
    >>> from skempathy.dialogue import load_empathetic_dialogues
    >>> lines = ["conv_id,utterance_idx,context,prompt,speaker_idx,utterance,selfeval,tags",
    ...          "hit:0_conv:1,1,sentimental,I remember going_comma_ to see,1,"
    ...          "I remember going!,5|5|5_2|2|5,",
    ...          "hit:0_conv:1,2,sentimental,I remember going_comma_ to see,0,"
    ...          "Was this a friend?,5|5|5_2|2|5,"]
    >>> path = os.path.join(tempfile.mkdtemp(), "train.csv")
    >>> _ = open(path, "w").write("\\n".join(lines) + "\\n")
    >>> frame = load_empathetic_dialogues(path)
    >>> frame[["turn", "speaker", "text"]].values.tolist()
    [[1, 'speaker', 'I remember going!'], [2, 'listener', 'Was this a friend?']]
    >>> frame["prompt"][0]
    'I remember going, to see'
    """
    files = _split_files(path, "{split}.csv", split, ("train", "valid", "test"))
    records, problems = [], []
    for split_name, file in files:
        with open(file, encoding="utf-8") as fh:
            header = fh.readline().rstrip("\r\n").split(",")
            if header[:6] != [
                "conv_id",
                "utterance_idx",
                "context",
                "prompt",
                "speaker_idx",
                "utterance",
            ]:
                raise ValueError(
                    f"{file} is not in the original EmpatheticDialogues format: header "
                    f"{header[:8]}. For the processed EmpatheticIntents copy use "
                    "load_empathetic_intents."
                )
            for lineno, line in enumerate(fh, start=2):
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                parts = line.split(",")
                where = f"{file.name}:{lineno}"
                if len(parts) < 6 or len(parts) > 9:
                    problems.append(
                        _problem(
                            parts[0],
                            None,
                            "malformed",
                            f"{where}: {len(parts)} fields (expected 6 to 9)",
                        )
                    )
                    continue
                try:
                    turn = int(parts[1])
                except ValueError:
                    problems.append(
                        _problem(
                            parts[0],
                            None,
                            "malformed",
                            f"{where}: utterance_idx {parts[1]!r} is not an int",
                        )
                    )
                    continue
                rec = {
                    "conv_id": parts[0],
                    "turn": turn,
                    "speaker": "speaker" if turn % 2 == 1 else "listener",
                    "text": parts[5].replace("_comma_", ",").strip(),
                    "context": parts[2],
                    "prompt": parts[3].replace("_comma_", ",").strip(),
                    "speaker_idx": parts[4],
                    "selfeval": parts[6] if len(parts) > 6 else "",
                    "tags": parts[7] if len(parts) > 7 else "",
                }
                if split_name is not None:
                    rec["split"] = split_name
                records.append(rec)
    columns = [
        "conv_id",
        "turn",
        "speaker",
        "text",
        "context",
        "prompt",
        "speaker_idx",
        "selfeval",
        "tags",
    ] + (["split"] if files[0][0] is not None else [])
    frame = pd.DataFrame.from_records(records, columns=columns)
    return _finish(
        frame, problems, corpus="EmpatheticDialogues", first_turn=1, return_report=return_report
    )


def load_empathetic_intents(path, *, split=None, return_report=False):
    """Load the processed EmpatheticDialogues copy of ``shared/data/empatheticdialogues``.

    That copy (from the EmpatheticIntents repository, Welivita & Pu 2020) holds
    all ED conversations with columns ``conv_id, split, emotion, turn, type,
    actor, text, auto_label``; each conversation has one ``situation`` row (the
    prompt) followed by its utterances; ``_comma_`` is already decoded.

    Parameters
    ----------
    path : str or path-like
        ``empatheticdialogues_empatheticintents.csv.gz`` or its folder.
    split : {"train", "valid", "test"} or list, default=None
        Keep only these splits (None: all).
    return_report : bool, default=False
        Also return the problem report (see :func:`validate_dialogues`).

    Returns
    -------
    frame : DataFrame
        ``conv_id``, ``turn`` (1..n), ``speaker`` (``"speaker"``/``"listener"``),
        ``text``, ``context`` (the ED emotion), ``prompt`` (the situation),
        ``split`` and ``auto_label`` (an automatic classifier label, not gold).
    report : DataFrame
        Only if ``return_report``.

    Examples
    --------
    >>> from skempathy.dialogue import load_empathetic_intents
    >>> frame = load_empathetic_intents("shared/data/empatheticdialogues")  # doctest: +SKIP
    """
    path = Path(path)
    if path.is_dir():
        path = path / "empatheticdialogues_empatheticintents.csv.gz"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist.")
    raw = pd.read_csv(path, keep_default_na=False, dtype={"conv_id": str, "text": str})
    expected = {"conv_id", "split", "emotion", "turn", "type", "actor", "text", "auto_label"}
    if not expected <= set(raw.columns):
        raise ValueError(f"{path}: expected columns {sorted(expected)}, got {list(raw.columns)}.")
    if split is not None:
        splits = [split] if isinstance(split, str) else list(split)
        unknown = set(splits) - set(raw["split"].unique())
        if unknown:
            raise ValueError(
                f"Unknown split(s) {sorted(unknown)}; the file has {sorted(raw['split'].unique())}."
            )
        raw = raw[raw["split"].isin(splits)]
    situ = raw[raw["type"] == "situation"].drop_duplicates("conv_id").set_index("conv_id")["text"]
    utt = raw[raw["type"] == "utterance"]
    frame = pd.DataFrame(
        {
            "conv_id": utt["conv_id"],
            "turn": utt["turn"],
            "speaker": utt["actor"],
            "text": utt["text"],
            "context": utt["emotion"],
            "prompt": utt["conv_id"].map(situ).fillna(""),
            "split": utt["split"],
            "auto_label": utt["auto_label"],
        }
    )
    return _finish(frame, [], corpus="EmpatheticIntents", first_turn=1, return_report=return_report)


def load_dailydialog(path, *, split=None, drop_duplicates=False, return_report=False):
    """Load DailyDialog (Li et al. 2017) from its distribution files.

    Parameters
    ----------
    path : str or path-like
        The folder holding ``train/``, ``validation/`` and ``test/`` (each with
        ``dialogues_<split>.txt``, ``dialogues_emotion_<split>.txt`` and
        ``dialogues_act_<split>.txt``).
    split : {"train", "validation", "test"} or list, default=None
        Splits to read (None: all).
    drop_duplicates : bool, default=False
        Drop dialogues whose full text repeats an earlier one (DailyDialog has
        569 within train and some across splits). Duplicates are reported as
        ``"duplicate_conversation"`` either way.
    return_report : bool, default=False
        Also return the problem report.

    Returns
    -------
    frame : DataFrame
        ``conv_id`` (``"<split>-<line>"``, 0-based line), ``turn`` (from 0),
        ``speaker`` (``"A"``/``"B"``, alternating: the corpus has no ids),
        ``text``, ``emotion`` (neutral, anger, disgust, fear, happiness,
        sadness, surprise; missing where a line has fewer labels than
        utterances, reported as ``"missing_label"``), ``act`` and ``split``.
    report : DataFrame
        Only if ``return_report``.

    Examples
    --------
    >>> from skempathy.dialogue import load_dailydialog
    >>> frame = load_dailydialog("shared/data/dailydialog", split="test")  # doctest: +SKIP
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder (expected the DailyDialog folder).")
    splits = (
        ["train", "validation", "test"]
        if split is None
        else ([split] if isinstance(split, str) else list(split))
    )
    records, problems, seen = [], [], {}
    for name in splits:
        folder = root / name
        files = [folder / f"dialogues{part}_{name}.txt" for part in ("", "_emotion", "_act")]
        for file in files:
            if not file.exists():
                raise FileNotFoundError(f"{file} not found (split {name!r}).")
        texts, emos, acts = (file.read_text(encoding="utf-8").splitlines() for file in files)
        for i, line in enumerate(texts):
            conv_id = f"{name}-{i}"
            utts = [u.strip() for u in line.split("__eou__")]
            if utts and utts[-1] == "":
                utts = utts[:-1]
            emo = emos[i].split() if i < len(emos) else []
            act = acts[i].split() if i < len(acts) else []
            if len(emo) != len(utts) or len(act) != len(utts):
                problems.append(
                    _problem(
                        conv_id,
                        min(len(emo), len(act)),
                        "missing_label",
                        f"{len(utts)} utterances, {len(emo)} emotion and {len(act)} act labels; "
                        "the unlabelled turns keep a missing label",
                    )
                )
            key = tuple(utts)
            if key in seen:
                problems.append(
                    _problem(conv_id, None, "duplicate_conversation", f"same text as {seen[key]}")
                )
                if drop_duplicates:
                    continue
            else:
                seen[key] = conv_id
            for t, utt in enumerate(utts):
                records.append(
                    {
                        "conv_id": conv_id,
                        "turn": t,
                        "speaker": "AB"[t % 2],
                        "text": utt,
                        "emotion": DAILYDIALOG_EMOTIONS.get(int(emo[t])) if t < len(emo) else None,
                        "act": DAILYDIALOG_ACTS.get(int(act[t])) if t < len(act) else None,
                        "split": name,
                    }
                )
    frame = pd.DataFrame.from_records(
        records, columns=["conv_id", "turn", "speaker", "text", "emotion", "act", "split"]
    )
    return _finish(frame, problems, corpus="DailyDialog", first_turn=0, return_report=return_report)


def _read_split_csvs(path, pattern, split, default, corpus):
    files = _split_files(path, pattern, split, default)
    frames = []
    for name, file in files:
        df = pd.read_csv(file, keep_default_na=False, dtype=str)
        df["split"] = name if name is not None else file.stem
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def _require(df, columns, corpus):
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{corpus}: missing columns {missing}; got {list(df.columns)}.")


def _int_column(df, column, corpus, problems, conv_ids):
    values = pd.to_numeric(df[column], errors="coerce")
    bad = values.isna()
    for conv, raw in zip(conv_ids[bad], df.loc[bad, column]):
        problems.append(_problem(conv, None, "malformed", f"{column}={raw!r} is not an int"))
    return values, bad


def load_meld(path, *, split=None, return_report=False):
    """Load the MELD text files (Poria et al. 2019): multi-party *Friends* dialogues.

    Parameters
    ----------
    path : str or path-like
        Folder with ``train_sent_emo.csv``, ``dev_sent_emo.csv`` and
        ``test_sent_emo.csv``, or one of these files.
    split : {"train", "dev", "test"} or list, default=None
        Splits to read (None: all).
    return_report : bool, default=False
        Also return the problem report.

    Returns
    -------
    frame : DataFrame
        ``conv_id`` (``"<split>-<Dialogue_ID>"``: ids restart in every split),
        ``turn`` (``Utterance_ID``), ``speaker``, ``text``, ``emotion`` (7
        Ekman-style labels incl. neutral), ``sentiment``, ``season``,
        ``episode``, ``split``.
    report : DataFrame
        Only if ``return_report``.

    Examples
    --------
    >>> from skempathy.dialogue import load_meld
    >>> frame = load_meld("shared/data/meld", split="dev")  # doctest: +SKIP
    """
    raw = _read_split_csvs(path, "{split}_sent_emo.csv", split, ("train", "dev", "test"), "MELD")
    raw["split"] = raw["split"].str.replace("_sent_emo", "", regex=False)
    _require(
        raw, ["Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID"], "MELD"
    )
    problems = []
    conv_ids = raw["split"] + "-" + raw["Dialogue_ID"].astype(str)
    turn, bad = _int_column(raw, "Utterance_ID", "MELD", problems, conv_ids)
    frame = pd.DataFrame(
        {
            "conv_id": conv_ids,
            "turn": turn,
            "speaker": raw["Speaker"],
            "text": raw["Utterance"],
            "emotion": raw["Emotion"],
            "sentiment": raw["Sentiment"],
            "season": raw.get("Season"),
            "episode": raw.get("Episode"),
            "split": raw["split"],
        }
    )[~bad]
    return _finish(frame, problems, corpus="MELD", first_turn=0, return_report=return_report)


def _parse_speaker(value):
    try:
        names = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value
    if isinstance(names, (list, tuple)):
        return " & ".join(str(n) for n in names)
    return str(names)


def load_emorynlp(path, *, split=None, return_report=False):
    """Load EmoryNLP emotion detection (Zahiri & Choi 2018), as shipped with MELD.

    Parameters
    ----------
    path : str or path-like
        Folder with ``emorynlp_{train,dev,test}_final.csv``, or one of them.
    split : {"train", "dev", "test"} or list, default=None
        Splits to read (None: all).
    return_report : bool, default=False
        Also return the problem report.

    Returns
    -------
    frame : DataFrame
        ``conv_id`` (``"<split>-s<season>e<episode>c<scene>"``: a scene is a
        conversation), ``turn`` (``Utterance_ID``), ``speaker`` (names joined
        with ``" & "`` when several speak at once), ``text``, ``emotion``
        (lower-cased: joyful, mad, neutral, peaceful, powerful, sad, scared),
        ``split``.
    report : DataFrame
        Only if ``return_report``.

    Examples
    --------
    >>> from skempathy.dialogue import load_emorynlp
    >>> frame = load_emorynlp("shared/data/emorynlp", split="dev")  # doctest: +SKIP
    """
    raw = _read_split_csvs(
        path, "emorynlp_{split}_final.csv", split, ("train", "dev", "test"), "EmoryNLP"
    )
    raw["split"] = (
        raw["split"]
        .str.replace("emorynlp_", "", regex=False)
        .str.replace("_final", "", regex=False)
    )
    _require(
        raw,
        ["Utterance", "Speaker", "Emotion", "Scene_ID", "Utterance_ID", "Season", "Episode"],
        "EmoryNLP",
    )
    conv_ids = (
        raw["split"]
        + "-s"
        + raw["Season"].str.zfill(2)
        + "e"
        + raw["Episode"].str.zfill(2)
        + "c"
        + raw["Scene_ID"].str.zfill(2)
    )
    problems = []
    turn, bad = _int_column(raw, "Utterance_ID", "EmoryNLP", problems, conv_ids)
    frame = pd.DataFrame(
        {
            "conv_id": conv_ids,
            "turn": turn,
            "speaker": raw["Speaker"].map(_parse_speaker),
            "text": raw["Utterance"],
            "emotion": raw["Emotion"].str.lower(),
            "split": raw["split"],
        }
    )[~bad]
    # Utterance_ID is 1-based; scenes starting later lost leading utterances (SOURCE.md)
    return _finish(frame, problems, corpus="EmoryNLP", first_turn=1, return_report=return_report)
