"""Datasets: bundled WASSA/NewsEmp, the lexicon, and the checksum-verified fetchers."""

import os
import pathlib

import numpy as np
import pandas as pd
import pytest

from skempathy.datasets import (
    WASSA_COLUMN_GROUPS,
    fetch_goemotions,
    fetch_twittemp,
    load_empathy_lexicon,
    load_newsemp,
    load_wassa,
)
from skempathy.datasets import _goemotions, _twittemp
from skempathy.datasets._base import RemoteFile
from skempathy.datasets._bundle import read_raw_newsemp, read_raw_wassa

ALL_FEATURES = [c for group in WASSA_COLUMN_GROUPS.values() for c in group]


# --- WASSA -----------------------------------------------------------------------------


def test_bundled_wassa_equals_raw_shared_files(shared_data):
    raw = read_raw_wassa(shared_data)
    for split, frame in raw.items():
        bundled = load_wassa(split).frame
        expected = frame[bundled.columns]
        pd.testing.assert_frame_equal(
            bundled.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
        )
    newsemp = read_raw_newsemp(shared_data)
    pd.testing.assert_frame_equal(load_newsemp().frame, newsemp, check_dtype=False)


def test_train_split_counts_and_labels():
    wassa = load_wassa("train")
    assert wassa.frame.shape[0] == 1860
    assert wassa.frame["emotion"].value_counts().to_dict() == {
        "sadness": 647,
        "anger": 349,
        "neutral": 275,
        "fear": 194,
        "surprise": 164,
        "disgust": 149,
        "joy": 82,
    }
    assert wassa.target_names == ["empathy", "distress", "emotion"]
    assert wassa.feature_names == ALL_FEATURES
    assert list(wassa.data.columns) == ALL_FEATURES
    assert wassa.frame[["empathy", "distress"]].stack().between(1, 7).all()
    assert not wassa.frame.isna().any().any()


def test_dev_has_gold_and_test_has_none():
    dev = load_wassa("dev")
    assert dev.frame.shape[0] == 270
    assert dev.frame["emotion"].value_counts()["sadness"] == 98
    assert round(dev.frame["empathy"].mean(), 3) == 3.558
    test = load_wassa("test")
    assert test.data.shape == (525, len(ALL_FEATURES))
    assert test.target is None and test.target_names == []
    assert not {"empathy", "distress", "emotion"} & set(test.frame.columns)
    with pytest.raises(ValueError, match="no gold labels"):
        load_wassa("test", target="emotion")


def test_column_names_are_snake_case_without_raw_typos():
    columns = load_wassa("train").frame.columns
    assert "personality_openness" in columns and "iri_empathic_concern" in columns
    assert "personality_openess" not in columns and "iri_empathatic_concern" not in columns
    assert all(c == c.lower() and " " not in c for c in columns)


def test_target_forms_and_return_x_y():
    X, y = load_wassa("dev", target="emotion", return_X_y=True)
    assert isinstance(y, pd.Series) and y.name == "emotion" and len(X) == 270
    X, Y = load_wassa("train", target=["empathy", "distress"], return_X_y=True)
    assert list(Y.columns) == ["empathy", "distress"]
    X, y = load_wassa("train", target="empathy", as_frame=False, return_X_y=True)
    assert isinstance(X, np.ndarray) and X.dtype == object and y.dtype.kind == "f"


def test_groups_are_writers_with_five_essays_and_codebooks_cover_codes():
    wassa = load_wassa("train")
    counts = wassa.groups.value_counts()
    assert len(counts) == 372 and (counts == 5).all()
    # every writer's demographics are constant over their essays (why plain KFold leaks)
    assert (wassa.frame.groupby("response_id")["age"].nunique() == 1).all()
    for column, book in wassa.codebooks.items():
        assert set(wassa.frame[column].unique()) <= set(book)
    dev_writers = set(load_wassa("dev").groups)
    assert not dev_writers & set(wassa.groups)


def test_edition_2022_moves_personality_and_iri_to_targets():
    dev = load_wassa("dev", edition=2022, target=["iri_fantasy", "empathy"])
    assert dev.feature_names == WASSA_COLUMN_GROUPS["text"] + WASSA_COLUMN_GROUPS["demographic"]
    assert list(dev.target.columns) == ["iri_fantasy", "empathy"]
    assert set(dev.column_groups) == {"text", "demographic"}
    test = load_wassa("test", edition=2022)
    assert "iri_fantasy" not in test.frame.columns


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"split": "validation"}, "Unknown split"),
        ({"target": "happiness"}, "Unknown target"),
        ({"target": []}, "at least one"),
        ({"edition": 2020}, "Unknown edition"),
    ],
)
def test_load_wassa_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_wassa(**kwargs)


def test_newsemp_binary_labels_and_same_essays_as_wassa():
    texts, y = load_newsemp(target="empathy_bin", return_X_y=True)
    assert y.value_counts().to_dict() == {0: 944, 1: 916}
    assert texts.tolist() == load_wassa("train").data["essay"].tolist()
    assert "CC BY 4.0" in load_newsemp().DESCR


# --- lexicon ---------------------------------------------------------------------------


def test_lexicon_from_path_and_data_home(shared_data, tmp_path):
    bunch = load_empathy_lexicon(shared_data / "empathy_distress_lexicon_sedoc2019")
    lexicon = bunch.frame
    assert lexicon.shape == (9356, 3) and bunch.feature_names == ["empathy", "distress"]
    row = lexicon.set_index("word").loc["helps"]
    assert row["empathy"] == pytest.approx(4.31595359173709)
    assert row["distress"] == pytest.approx(2.40957340279997)
    assert bunch.data.loc["helps", "distress"] == pytest.approx(2.40957340279997)
    assert bunch.words.tolist() == lexicon["word"].tolist()
    assert "Sedoc" in bunch.DESCR and "not" in bunch.DESCR and "leak" in bunch.DESCR
    raw = load_empathy_lexicon(shared_data / "empathy_distress_lexicon_sedoc2019", as_frame=False)
    assert raw.data.shape == (9356, 2) and raw.data.dtype == float
    # the test session's SKEMPATHY_DATA is prefilled (tests/conftest.py)
    pd.testing.assert_frame_equal(load_empathy_lexicon().frame, lexicon)
    with pytest.raises(FileNotFoundError, match="not bundled"):
        load_empathy_lexicon(data_home=tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empathy_lexicon.txt").write_text("token,score\nhelps,4.3\n")
    (bad / "distress_lexicon.txt").write_text("word,rating\nhelps,2.4\n")
    with pytest.raises(ValueError, match="not a 'word,rating' CSV"):
        load_empathy_lexicon(bad)


# --- GoEmotions ------------------------------------------------------------------------


def test_goemotions_splits_and_label_counts(goemotions_home):
    sizes = {
        s: len(fetch_goemotions(s, data_home=goemotions_home, download_if_missing=False).data)
        for s in ("train", "dev", "test")
    }
    assert sizes == {"train": 43410, "dev": 5426, "test": 5427}
    train = fetch_goemotions("train", data_home=goemotions_home)
    assert train.target.shape == (43410, 28) and train.target_names[-1] == "neutral"
    counts = dict(zip(train.target_names, train.target.sum(axis=0)))
    assert counts["neutral"] == 14219 and counts["grief"] == 77
    assert set(np.unique(train.target.sum(axis=1))) == {1, 2, 3, 4, 5}


def test_goemotions_ekman_and_sentiment_mappings(goemotions_home):
    ekman = fetch_goemotions("train", data_home=goemotions_home, mapping="ekman")
    assert ekman.target_names == [
        "anger",
        "disgust",
        "fear",
        "joy",
        "sadness",
        "surprise",
        "neutral",
    ]
    single = ekman.target[ekman.target.sum(axis=1) == 1]
    assert len(single) == 39555
    assert dict(zip(ekman.target_names, single.sum(axis=0)))["joy"] == 15216
    sentiment = fetch_goemotions("dev", data_home=goemotions_home, mapping="sentiment")
    assert sentiment.target_names == ["positive", "negative", "ambiguous", "neutral"]
    assert sentiment.target.sum(axis=1).min() == 1
    with pytest.raises(ValueError, match="Unknown mapping"):
        fetch_goemotions("dev", data_home=goemotions_home, mapping="plutchik")
    with pytest.raises(ValueError, match="Unknown subset"):
        fetch_goemotions("validation", data_home=goemotions_home)


def test_fetch_without_file_and_no_download_raises(tmp_path):
    with pytest.raises(OSError, match="download_if_missing=False"):
        fetch_goemotions("dev", data_home=tmp_path, download_if_missing=False)


def test_corrupt_cache_is_reported(tmp_path, shared_data):
    folder = tmp_path / "goemotions"
    folder.mkdir()
    data = (shared_data / "goemotions" / "dev.tsv").read_bytes()
    (folder / "dev.tsv").write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(ValueError, match="corrupt or truncated"):
        fetch_goemotions("dev", data_home=tmp_path)


def _local_remote(remote, path, sha256=None):
    return RemoteFile(remote.filename, pathlib.Path(path).as_uri(), sha256 or remote.sha256)


def test_download_verifies_checksum_and_caches(tmp_path, shared_data, monkeypatch):
    src = shared_data / "goemotions" / "dev.tsv"
    monkeypatch.setitem(_goemotions.REMOTES, "dev", _local_remote(_goemotions.REMOTES["dev"], src))
    bunch = fetch_goemotions("dev", data_home=tmp_path)
    assert len(bunch.data) == 5426
    assert os.listdir(tmp_path / "goemotions") == ["dev.tsv"]


def test_download_with_bad_checksum_or_failure_leaves_no_file(tmp_path, shared_data, monkeypatch):
    src = shared_data / "goemotions" / "dev.tsv"
    bad = _local_remote(_goemotions.REMOTES["dev"], src, sha256="0" * 64)
    monkeypatch.setitem(_goemotions.REMOTES, "dev", bad)
    with pytest.raises(ValueError, match="checksum mismatch"):
        fetch_goemotions("dev", data_home=tmp_path)
    assert os.listdir(tmp_path / "goemotions") == []
    missing = _local_remote(_goemotions.REMOTES["dev"], tmp_path / "nowhere.tsv")
    monkeypatch.setitem(_goemotions.REMOTES, "dev", missing)
    with pytest.raises(OSError, match="could not download"):
        fetch_goemotions("dev", data_home=tmp_path)
    assert os.listdir(tmp_path / "goemotions") == []


# --- TwittEmp --------------------------------------------------------------------------


def test_twittemp(twittemp_home, shared_data, tmp_path, monkeypatch):
    texts, y = fetch_twittemp(data_home=twittemp_home, return_X_y=True)
    assert len(texts) == 3000
    assert y.value_counts().to_dict() == {"none": 1000, "seeking": 1000, "providing": 1000}
    monkeypatch.setattr(
        _twittemp, "REMOTE", _local_remote(_twittemp.REMOTE, shared_data / "twittemp/TwittEmp.csv")
    )
    assert len(fetch_twittemp(data_home=tmp_path).data) == 3000
    # a wrong checksum raises and keeps nothing; the cached copy downloaded above is verified too
    bad = _local_remote(_twittemp.REMOTE, shared_data / "twittemp/TwittEmp.csv", sha256="0" * 64)
    monkeypatch.setattr(_twittemp, "REMOTE", bad)
    fresh = tmp_path / "fresh"
    with pytest.raises(ValueError, match="checksum mismatch"):
        fetch_twittemp(data_home=fresh)
    assert os.listdir(fresh / "twittemp") == []
    mask = os.umask(0)
    os.umask(mask)  # downloads get the usual permissions, not mkstemp's 0600
    assert os.stat(tmp_path / "twittemp" / "TwittEmp.csv").st_mode & 0o777 == 0o666 & ~mask


def test_isear(shared_data, tmp_path, monkeypatch):
    """The 163 texts whose line breaks the extract wrote as separators are whole again; the
    non-answers are dropped unless asked for."""
    from skempathy.datasets import ISEAR_LABELS, _isear, fetch_isear

    monkeypatch.setattr(
        _isear, "REMOTE", _local_remote(_isear.REMOTE, shared_data / "isear/isear.csv")
    )
    raw = fetch_isear(data_home=tmp_path, drop_non_answers=False)
    assert len(raw.data) == 7666 and raw.frame["respondent"].nunique() == 1096
    assert sorted(raw.target.unique()) == sorted(ISEAR_LABELS)
    assert not raw.frame["text"].str.contains("|", regex=False).any()
    assert raw.frame["text"].str.contains("No response", case=False).sum() >= 85
    texts, y = fetch_isear(data_home=tmp_path, return_X_y=True)
    assert 7400 < len(texts) < 7666 and len(texts) == len(y)
    assert not any("no response" in t.lower() for t in texts)
    assert (y.value_counts() > 1050).all()
    with pytest.raises(OSError):
        fetch_isear(data_home=tmp_path / "empty", download_if_missing=False)


def test_data_home_default_env_and_clear(tmp_path, monkeypatch):
    from skempathy.datasets import clear_data_home, get_data_home

    monkeypatch.delenv("SKEMPATHY_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert get_data_home() == str(tmp_path / "home" / "skempathy_data")
    monkeypatch.setenv("SKEMPATHY_DATA", str(tmp_path / "env"))
    home = get_data_home()
    assert home == str(tmp_path / "env") and os.path.isdir(home)
    (pathlib.Path(home) / "goemotions").mkdir()
    clear_data_home()
    assert not os.path.exists(home)
