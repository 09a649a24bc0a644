"""Emotion-transition features, pattern tables and pattern-based selection."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from skempathy.dialogue import (
    DialogueDataWarning,
    EmotionTransitionFeaturizer,
    emotion_patterns,
    load_empathetic_intents,
    plot_transition_matrix,
    select_by_patterns,
    to_conversations,
)


@pytest.fixture
def hand_frame():
    """Two hand-built conversations (turns deliberately shuffled in the frame)."""
    rows = [
        # conversation "a": s:sadness -> l:caring -> s:sadness -> l:caring -> l:joy (same speaker)
        ("a", 3, "s", "sadness"),
        ("a", 1, "s", "sadness"),
        ("a", 2, "l", "caring"),
        ("a", 4, "l", "caring"),
        ("a", 5, "l", "joy"),
        # conversation "b": s:joy -> l:joy -> s:anger
        ("b", 1, "s", "joy"),
        ("b", 2, "l", "joy"),
        ("b", 3, "s", "anger"),
    ]
    return pd.DataFrame(rows, columns=["conv_id", "turn", "speaker", "emotion"])


def test_transition_counts_match_hand_built_conversation(hand_frame):
    X = to_conversations(hand_frame, emotion_column="emotion")
    assert X.index.tolist() == ["a", "b"]
    assert X["a"]["emotion"] == ["sadness", "caring", "sadness", "caring", "joy"]
    feat = EmotionTransitionFeaturizer(normalize=False).fit(X)
    assert feat.labels_.tolist() == ["anger", "caring", "joy", "sadness"]
    counts = pd.DataFrame(feat.transform(X), index=X.index, columns=feat.get_feature_names_out())
    # a: sadness->caring (x2), caring->sadness (x1); caring->joy is the same speaker: not counted
    expected_a = {"sadness->caring": 2.0, "caring->sadness": 1.0}
    expected_b = {"joy->joy": 1.0, "joy->anger": 1.0}
    for conv, expected in [("a", expected_a), ("b", expected_b)]:
        row = counts.loc[conv]
        assert row[row > 0].to_dict() == expected
    freq = EmotionTransitionFeaturizer().fit_transform(X)
    np.testing.assert_allclose(freq.sum(axis=1), [1.0, 1.0])
    np.testing.assert_allclose(
        freq[0, list(feat.get_feature_names_out()).index("sadness->caring")], 2 / 3
    )
    # only speaker -> listener transitions
    only_s = EmotionTransitionFeaturizer(normalize=False, source_speaker="s").fit(X)
    row_a = dict(zip(only_s.get_feature_names_out(), only_s.transform(X)[0]))
    assert row_a["sadness->caring"] == 2.0 and row_a["caring->sadness"] == 0.0


def test_transition_featurizer_label_sets_and_errors():
    conv = [[("joy", "love"), "sadness"], ["joy", "anger"]]
    feat = EmotionTransitionFeaturizer(
        labels=["joy", "love", "sadness", "anger"], normalize=False
    ).fit(conv)
    out = dict(zip(feat.get_feature_names_out(), feat.transform(conv)[0]))
    assert out["joy->sadness"] == 0.5 and out["love->sadness"] == 0.5
    assert feat.transform(conv)[0].sum() == 1.0
    with pytest.raises(ValueError, match="unknown emotion label 'fear'"):
        feat.transform([["joy", "fear"]])
    ignored = EmotionTransitionFeaturizer(labels=["joy"], handle_unknown="ignore").fit(conv)
    assert ignored.transform([["joy", "fear"]]).sum() == 0.0
    with pytest.raises(ValueError, match="missing emotion"):
        EmotionTransitionFeaturizer().fit([["joy", None]])
    with pytest.raises(ValueError, match="single string"):
        EmotionTransitionFeaturizer().fit(["joy"])
    with pytest.raises(Exception, match="not fitted"):
        EmotionTransitionFeaturizer().transform(conv)
    pandas_out = EmotionTransitionFeaturizer().set_output(transform="pandas").fit_transform(conv)
    assert "joy->sadness" in pandas_out.columns


def test_emotion_patterns_lift(hand_frame):
    table = emotion_patterns(hand_frame, emotion_column="emotion")
    # 5 transitions: sad->car x2, car->sad, joy->joy, joy->anger
    row = table.set_index(["source", "target"]).loc[("sadness", "caring")]
    assert row["count"] == 2 and row["share"] == pytest.approx(2 / 5)
    # P(source=sadness) = 2/5, P(target=caring) = 2/5 -> expected 5 * 4/25 = 0.8
    assert row["expected"] == pytest.approx(0.8) and row["lift"] == pytest.approx(2.5)
    assert row["p_target_given_source"] == pytest.approx(1.0)
    assert row["n_conversations"] == 1
    assert table["lift"].is_monotonic_decreasing
    assert len(table) == 4  # only observed transitions (min_count=1)
    with pytest.raises(ValueError, match="Missing column"):
        emotion_patterns(hand_frame)  # no pred_emotion column


def test_emotion_patterns_by_group(hand_frame):
    frame = hand_frame.assign(kind=hand_frame["conv_id"].map({"a": "empathetic", "b": "other"}))
    table = emotion_patterns(frame, emotion_column="emotion", group_column="kind")
    emp = table[table["group"] == "empathetic"].set_index(["source", "target"])
    # sadness->caring: 2/3 of the empathetic transitions vs 2/5 overall
    assert emp.loc[("sadness", "caring"), "lift_vs_all"] == pytest.approx((2 / 3) / (2 / 5))


def test_select_by_patterns(hand_frame):
    sub, scores = select_by_patterns(
        hand_frame, ["sadness->caring"], min_share=0.5, emotion_column="emotion", return_scores=True
    )
    assert sub["conv_id"].unique().tolist() == ["a"]
    assert scores.loc["a", "share"] == pytest.approx(2 / 3)
    assert scores.loc["b", "share"] == 0.0
    table = emotion_patterns(hand_frame, emotion_column="emotion")
    top = table.head(1)  # caring->sadness: lift 1 / (5 * 1/5 * 1/5) = 5
    assert top[["source", "target"]].values.tolist() == [["caring", "sadness"]]
    assert top["lift"].iloc[0] == pytest.approx(5.0)
    assert select_by_patterns(hand_frame, top, min_share=0.3, emotion_column="emotion")[
        "conv_id"
    ].unique().tolist() == ["a"]
    assert len(select_by_patterns(hand_frame, top, min_share=0.4, emotion_column="emotion")) == 0
    assert (
        len(
            select_by_patterns(
                hand_frame, [("joy", "joy")], min_share=1.0, emotion_column="emotion"
            )
        )
        == 0
    )
    with pytest.raises(ValueError, match="source->target"):
        select_by_patterns(hand_frame, ["joy"], emotion_column="emotion")


def test_plot_transition_matrix(hand_frame, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    table = emotion_patterns(hand_frame, emotion_column="emotion")
    ax = plot_transition_matrix(table, value="lift")
    # most frequent sources first (joy and sadness: 2 each; ties alphabetical)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["joy", "sadness", "caring", "anger"]
    ax.figure.savefig(tmp_path / "m.png")
    assert (tmp_path / "m.png").stat().st_size > 1000


def test_conversation_classifier_pipeline_on_empathetic_dialogues(shared_data):
    """Transition features of ED's automatic utterance labels predict the situation emotion."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DialogueDataWarning)
        frame = load_empathetic_intents(shared_data / "empatheticdialogues", split="valid")
    keep = frame["context"].isin(["afraid", "grateful", "sad", "proud"])
    X, y = to_conversations(frame[keep], emotion_column="auto_label", label_column="context")
    pipe = make_pipeline(
        EmotionTransitionFeaturizer(handle_unknown="ignore"), LogisticRegression(max_iter=1000)
    )
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.5  # 4 balanced-ish classes: chance is about 0.25


def test_most_common_patterns_select_growing_subsets_on_empathetic_dialogues(shared_data):
    """The paper's selection: keep the conversations holding one of the k most common speaker ->
    listener pairs; more pairs keep more conversations, and the count order differs from the
    lift order."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DialogueDataWarning)
        frame = load_empathetic_intents(shared_data / "empatheticdialogues", split="valid")
    common = emotion_patterns(
        frame, emotion_column="auto_label", source_speaker="speaker", sort_by="count"
    )
    assert common["count"].is_monotonic_decreasing
    typical = emotion_patterns(frame, emotion_column="auto_label", source_speaker="speaker")
    assert typical["lift"].is_monotonic_decreasing
    assert (
        common.head(5)[["source", "target"]].values.tolist()
        != typical.head(5)[["source", "target"]].values.tolist()
    )
    n_conv = frame["conv_id"].nunique()
    shares = []
    for k in (1, 5, 20):
        sub = select_by_patterns(
            frame,
            common.head(k),
            min_share=0.0,
            min_count=1,
            emotion_column="auto_label",
            source_speaker="speaker",
        )
        shares.append(sub["conv_id"].nunique() / n_conv)
    assert 0 < shares[0] < shares[1] < shares[2] <= 1
    with pytest.raises(ValueError, match="sort_by"):
        emotion_patterns(frame, emotion_column="auto_label", sort_by="share")
