"""Dialogue corpus loaders: original EmpatheticDialogues format and the shared corpora."""

import warnings

import pandas as pd
import pytest

from skempathy.dialogue import (
    DialogueDataWarning,
    load_dailydialog,
    load_emorynlp,
    load_empathetic_dialogues,
    load_empathetic_intents,
    load_meld,
    validate_dialogues,
)

HEADER = "conv_id,utterance_idx,context,prompt,speaker_idx,utterance,selfeval,tags"


def _write_ed(path, lines):
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def test_load_empathetic_dialogues_original_format(tmp_path):
    prompt = "I remember going to the fireworks with my best friend_comma_ it was great"
    lines = [
        f"hit:0_conv:1,1,sentimental,{prompt},1,I remember going to see the fireworks_comma_ "
        "with my friend.,5|5|5_2|2|5,",
        f"hit:0_conv:1,2,sentimental,{prompt},0,Was this a friend you were in love with_comma_ "
        "or just a best friend?,5|5|5_2|2|5,",
        f"hit:0_conv:1,3,sentimental,{prompt},1,This was a best friend.,5|5|5_2|2|5,",
        "hit:1_conv:2,1,afraid,it feels like hitting to blank wall,2,I feel so lost.,4|3|3_1|1|2,",
        "hit:1_conv:2,2,afraid,it feels like hitting to blank wall,3,Why? What happened?,"
        "4|3|3_1|1|2,",
    ]
    frame = load_empathetic_dialogues(_write_ed(tmp_path / "train.csv", lines))
    assert list(frame.columns[:4]) == ["conv_id", "turn", "speaker", "text"]
    assert frame["conv_id"].tolist() == ["hit:0_conv:1"] * 3 + ["hit:1_conv:2"] * 2
    assert frame["turn"].tolist() == [1, 2, 3, 1, 2]
    assert frame["speaker"].tolist() == ["speaker", "listener", "speaker", "speaker", "listener"]
    assert frame["text"][0] == "I remember going to see the fireworks, with my friend."
    assert frame["prompt"][0] == (
        "I remember going to the fireworks with my best friend, it was great"
    )
    assert frame["context"].tolist() == ["sentimental"] * 3 + ["afraid"] * 2
    assert frame["speaker_idx"].tolist() == ["1", "0", "1", "2", "3"]


def test_load_empathetic_dialogues_reports_bad_rows(tmp_path):
    lines = [
        "c1,1,sad,p,1,first,,",
        "c1,1,sad,p,1,first again (duplicate index),,",
        "c1,3,sad,p,1,turn two is missing,,",
        "c2,1,sad,p,1,an,unescaped,comma,makes,too,many,fields,,",
        "c2,x,sad,p,1,not an index,,",
        "c3,1,sad,p,1,  ,,",
        "c3,2,sad,p,0,reply,,",
    ]
    _write_ed(tmp_path / "valid.csv", lines)
    with pytest.warns(DialogueDataWarning, match="problem"):
        frame, report = load_empathetic_dialogues(tmp_path, split="valid", return_report=True)
    problems = report.groupby("problem")["conv_id"].apply(list).to_dict()
    assert problems["duplicate_turn"] == ["c1"]
    assert problems["missing_turn"] == ["c1"]
    assert sorted(problems["malformed"]) == ["c2", "c2"]
    assert problems["empty_text"] == ["c3"]
    # duplicates keep the first row; malformed and empty rows are dropped, gaps are kept
    assert frame[["conv_id", "turn", "text"]].values.tolist() == [
        ["c1", 1, "first"],
        ["c1", 3, "turn two is missing"],
        ["c3", 2, "reply"],
    ]
    assert (frame["split"] == "valid").all()


def test_load_empathetic_dialogues_rejects_other_formats(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("conv_id,split,emotion,turn,type,actor,text,auto_label\n")
    with pytest.raises(ValueError, match="load_empathetic_intents"):
        load_empathetic_dialogues(path)
    with pytest.raises(FileNotFoundError, match="split 'test'"):
        load_empathetic_dialogues(tmp_path, split="test")


def test_validate_dialogues_requires_columns():
    with pytest.raises(ValueError, match="missing \\['speaker'\\]"):
        validate_dialogues(pd.DataFrame({"conv_id": [1], "turn": [1], "text": ["a"]}))


def test_load_empathetic_intents(shared_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DialogueDataWarning)
        frame, report = load_empathetic_intents(
            shared_data / "empatheticdialogues", return_report=True
        )
    # SOURCE.md: 107,208 utterances in 24,847 conversations; splits 19,543/2,762/2,542
    assert len(frame) == 107_208
    assert frame["conv_id"].nunique() == 24_847
    per_split = frame.drop_duplicates("conv_id")["split"].value_counts().to_dict()
    assert per_split == {"train": 19_543, "valid": 2_762, "test": 2_542}
    assert frame["context"].nunique() == 32
    assert set(frame["speaker"]) == {"speaker", "listener"}
    assert (frame.loc[frame["turn"] % 2 == 1, "speaker"] == "speaker").all()
    assert set(report["problem"]) == {"single_utterance"}
    first = frame[frame["conv_id"] == "hit:4821_conv:9643"]
    assert first["text"].iloc[1] == "Oh my gosh, what did you do?"
    assert first["prompt"].iloc[0] == "When my car caught on fire while driving"


def test_load_dailydialog(shared_data):
    with pytest.warns(DialogueDataWarning):
        test = load_dailydialog(shared_data / "dailydialog", split="test")
    assert test["conv_id"].nunique() == 1_000 and len(test) == 7_740
    assert test["emotion"].value_counts()["happiness"] == 1_019
    assert set(test["speaker"]) == {"A", "B"}
    with pytest.warns(DialogueDataWarning):
        train, report = load_dailydialog(
            shared_data / "dailydialog", split="train", return_report=True
        )
    # SOURCE.md: dialogue 7851 has 12 utterances but 11 labels; 569 duplicate dialogues
    missing = report[report["problem"] == "missing_label"]
    assert missing["conv_id"].tolist() == ["train-7851"]
    conv = train[train["conv_id"] == "train-7851"]
    assert len(conv) == 12 and conv["emotion"].isna().sum() == 1
    assert (report["problem"] == "duplicate_conversation").sum() == 569
    with pytest.warns(DialogueDataWarning):
        dedup = load_dailydialog(shared_data / "dailydialog", split="train", drop_duplicates=True)
    assert dedup["conv_id"].nunique() == 11_118 - 569


def test_load_meld_and_emorynlp(shared_data):
    with pytest.warns(DialogueDataWarning):
        meld = load_meld(shared_data / "meld", split="dev")
    assert len(meld) == 1_109 and meld["conv_id"].nunique() == 114
    assert meld["emotion"].value_counts()["neutral"] == 470
    assert meld["conv_id"].str.startswith("dev-").all()
    with pytest.warns(DialogueDataWarning):
        emory = load_emorynlp(shared_data / "emorynlp", split="dev")
    assert len(emory) == 954 and emory["conv_id"].nunique() == 89
    assert emory["emotion"].value_counts()["neutral"] == 322
    assert not emory["speaker"].str.startswith("[").any()
    # 74 of the 89 dev scenes start after Utterance_ID 1 (utterances lost upstream): reported
    with pytest.warns(DialogueDataWarning):
        _, report = load_emorynlp(shared_data / "emorynlp", split="dev", return_report=True)
    first = emory.groupby("conv_id")["turn"].min()
    leading = report[(report["problem"] == "missing_turn") & (report["turn"] == 1)]
    assert set(leading["conv_id"]) == set(first.index[first > 1]) and len(leading) == 74
    with pytest.warns(DialogueDataWarning):
        _, meld_report = load_meld(shared_data / "meld", split="dev", return_report=True)
    assert len(meld_report) and set(meld_report["problem"]) <= {
        "empty_text",
        "duplicate_turn",
        "missing_turn",
        "single_utterance",
        "malformed",
    }
    # turns are sorted within each conversation
    assert (
        emory.groupby("conv_id", sort=False)["turn"]
        .apply(lambda t: t.is_monotonic_increasing)
        .all()
    )
