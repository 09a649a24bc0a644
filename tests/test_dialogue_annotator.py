"""EmotionAnnotator on real GoEmotions data (small subsets, embedded MiniLM, cached)."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score

from skempathy.datasets import fetch_goemotions
from skempathy.dialogue import (
    EKMAN_MAPPING,
    GOEMOTIONS_LABELS,
    SENTIMENT_MAPPING,
    EmotionAnnotator,
    annotate_dialogues,
    map_emotions,
)

N_TRAIN, N_DEV, N_TEST = 1500, 500, 700


def _subset(bunch, n, seed):
    idx = np.random.RandomState(seed).permutation(len(bunch.data))[:n]
    labels = [bunch.frame["labels"][i] for i in idx]
    return [bunch.data[i] for i in idx], bunch.target[idx], labels


@pytest.fixture(scope="module")
def goemotions(goemotions_home):
    out = {}
    for subset, n in [("train", N_TRAIN), ("dev", N_DEV), ("test", N_TEST)]:
        out[subset] = _subset(fetch_goemotions(subset, data_home=goemotions_home), n, seed=0)
    out["target_names"] = list(fetch_goemotions("dev", data_home=goemotions_home).target_names)
    return out


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("embedding_cache"))


@pytest.fixture(scope="module")
def fitted(goemotions, cache_dir):
    X, Y, _ = goemotions["train"]
    X_dev, Y_dev, _ = goemotions["dev"]
    return EmotionAnnotator(cache_dir=cache_dir, device="cpu", random_state=0).fit(
        X, Y, X_dev=X_dev, y_dev=Y_dev, labels=goemotions["target_names"]
    )


def _macro_micro(Y_true, Y_pred):
    return (
        f1_score(Y_true, Y_pred, average="macro", zero_division=0),
        f1_score(Y_true, Y_pred, average="micro", zero_division=0),
    )


def _majority(Y_train, n):
    """Predict the most frequent training label (neutral) for every text."""
    pred = np.zeros((n, Y_train.shape[1]), dtype=int)
    pred[:, np.argmax(Y_train.sum(axis=0))] = 1
    return pred


def test_annotator_beats_majority_baseline_on_goemotions(fitted, goemotions):
    X_test, Y_test, _ = goemotions["test"]
    assert fitted.classes_.tolist() == list(GOEMOTIONS_LABELS)  # all 28 seen in 1500 texts
    Y_test = Y_test[:, [goemotions["target_names"].index(c) for c in fitted.classes_]]
    pred = fitted.predict(X_test)
    assert pred.shape == Y_test.shape
    macro, micro = _macro_micro(Y_test, pred)
    base_macro, base_micro = _macro_micro(Y_test, _majority(goemotions["train"][1], len(X_test)))
    assert macro > 3 * base_macro and macro > 0.15
    assert micro > base_micro


def test_thresholds_are_tuned_per_label_and_help(fitted, goemotions, cache_dir):
    X_test, Y_test, _ = goemotions["test"]
    proba = fitted.predict_proba(X_test)
    assert proba.shape == (len(X_test), 28) and ((proba >= 0) & (proba <= 1)).all()
    assert len(np.unique(fitted.thresholds_)) > 5  # one threshold per label, not a constant
    np.testing.assert_array_equal(fitted.predict(X_test), proba >= fitted.thresholds_)
    fixed = EmotionAnnotator(threshold=0.5, cache_dir=cache_dir, device="cpu").fit(
        *goemotions["train"][:2], labels=goemotions["target_names"]
    )
    np.testing.assert_allclose(fixed.predict_proba(X_test), proba, atol=1e-6)  # same head
    macro_tuned = f1_score(Y_test, fitted.predict(X_test), average="macro", zero_division=0)
    macro_fixed = f1_score(Y_test, fixed.predict(X_test), average="macro", zero_division=0)
    assert macro_tuned > macro_fixed


def test_ekman_and_sentiment_mapping(fitted, goemotions, cache_dir):
    X_test, _, labels_test = goemotions["test"]
    ekman_true = map_emotions(labels_test, taxonomy="ekman")
    ekman_pred = fitted.predict_labels(X_test, taxonomy="ekman")
    names = list(EKMAN_MAPPING)
    to_ind = lambda sets: np.array([[n in s for n in names] for s in sets], dtype=int)  # noqa
    majority = [("neutral",)] * len(X_test)
    assert f1_score(to_ind(ekman_true), to_ind(ekman_pred), average="macro") > 2 * f1_score(
        to_ind(ekman_true), to_ind(majority), average="macro", zero_division=0
    )
    # an annotator trained directly on Ekman labels (mapped from the GoEmotions label lists)
    X, _, labels = goemotions["train"]
    ekman = EmotionAnnotator(
        taxonomy="ekman", cache_dir=cache_dir, device="cpu", random_state=0
    ).fit(X, labels)
    assert ekman.classes_.tolist() == names
    assert all(set(s) <= set(names) and s for s in ekman.predict_labels(X_test[:50]))
    sentiment = map_emotions(labels_test, taxonomy="sentiment")
    assert {label for s in sentiment for label in s} == set(SENTIMENT_MAPPING)


def test_mappings_equal_the_dataset_files(shared_data):
    folder = shared_data / "goemotions"
    ekman = json.loads((folder / "ekman_mapping.json").read_text())
    sentiment = json.loads((folder / "sentiment_dict.json").read_text())
    assert {k: sorted(v) for k, v in ekman.items()} == {
        k: sorted(v) for k, v in EKMAN_MAPPING.items() if k != "neutral"
    }
    assert {k: sorted(v) for k, v in sentiment.items()} == {
        k: sorted(v) for k, v in SENTIMENT_MAPPING.items() if k != "neutral"
    }
    assert (folder / "emotions.txt").read_text().split() == list(GOEMOTIONS_LABELS)
    with pytest.raises(ValueError, match="Unknown emotion label 'happy'"):
        map_emotions([("joy",), ("happy",)])


def test_annotate_dialogues_on_a_real_conversation(fitted, shared_data):
    frame = pd.DataFrame(
        {
            "conv_id": ["c"] * 4,
            "turn": [1, 2, 3, 4],
            "speaker": ["speaker", "listener"] * 2,
            "text": [
                "My dog died this morning and I can't stop crying.",
                "I'm so sorry for your loss. That is heartbreaking.",
                "Thank you, that means a lot to me.",
                "You're welcome. Take care of yourself.",
            ],
            "emotion": ["gold"] * 4,
        }
    )
    out = annotate_dialogues(frame, fitted)
    assert out["emotion"].tolist() == ["gold"] * 4  # gold labels kept
    assert out["pred_emotion"].tolist()[2] == "gratitude"
    assert "sadness" in out["pred_labels"][0] or "grief" in out["pred_labels"][0]
    proba = out[[f"proba_{c}" for c in fitted.classes_]].to_numpy()
    np.testing.assert_allclose(proba, fitted.predict_proba(frame["text"]))
    ekman = annotate_dialogues(frame, fitted, taxonomy="ekman", with_proba=False)
    assert ekman["pred_emotion"][0] == "sadness" and "proba_joy" not in ekman


def test_annotator_input_errors_and_custom_estimators():
    texts = ["thanks a lot", "thank you", "so sad", "I am sad", "ok then", "fine"] * 4
    sets = [["gratitude"], ["gratitude"], ["sadness"], ["sadness"], ["neutral"], ["neutral"]] * 4
    tfidf = dict(encoder=TfidfVectorizer(), C=10.0)
    with pytest.raises(ValueError, match="Unknown emotion label 'glad'"):
        EmotionAnnotator(**tfidf).fit(texts, [["glad"]] * len(texts))
    with pytest.raises(ValueError, match="missing"):
        EmotionAnnotator(**tfidf).fit(texts[:-1] + [None], sets)
    with pytest.raises(ValueError, match="24 texts but y has 2"):
        EmotionAnnotator(**tfidf).fit(texts, sets[:2])
    with pytest.raises(ValueError, match="both X_dev and y_dev"):
        EmotionAnnotator(**tfidf).fit(texts, sets, X_dev=texts)
    with pytest.raises(Exception, match="not fitted"):
        EmotionAnnotator().predict(["hi"])
    # out-of-fold threshold tuning (no dev data), unnamed indicator + labels
    names = ["gratitude", "neutral", "sadness"]
    Y = np.array([[n in s for n in names] for s in sets], dtype=int)
    ann = EmotionAnnotator(**tfidf, random_state=0).fit(texts, Y, labels=names)
    # classes follow the taxonomy's order (GoEmotions: neutral last)
    assert ann.classes_.tolist() == ["gratitude", "sadness", "neutral"]
    assert ann.thresholds_.shape == (3,)
    assert ann.predict_labels(["thank you so much"]) == [("gratitude",)]
    # a user-supplied multi-label estimator over raw texts
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline

    custom = make_pipeline(TfidfVectorizer(), OneVsRestClassifier(LogisticRegression(C=10)))
    ann = EmotionAnnotator(custom, threshold=0.4).fit(texts, sets)
    assert ann.predict_labels(["I am so sad"]) == [("sadness",)]
    # one label per text: a plain multi-class classifier
    single = EmotionAnnotator(**tfidf, taxonomy=None).fit(texts, [s[0] for s in sets])
    assert not single.multilabel_ and single.predict(["so sad"]).tolist() == ["sadness"]
