"""Metrics agree with scipy/sklearn references; the bootstrap test behaves."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import f1_score, precision_score, recall_score
from sklearn.model_selection import GroupKFold, cross_val_predict, cross_validate
from sklearn.pipeline import make_pipeline

from skempathy.datasets import load_wassa
from skempathy.metrics import (
    average_pearson,
    bootstrap_test,
    get_scorer,
    pearson_score,
    wassa_evaluate,
)


@pytest.fixture(scope="module")
def dev_predictions():
    """Real TF-IDF predictions on the WASSA dev split, trained on train."""
    X_train, Y_train = load_wassa("train", return_X_y=True)
    X_dev, Y_dev = load_wassa("dev", return_X_y=True)
    clf = make_pipeline(TfidfVectorizer(min_df=2), LogisticRegression(C=10, max_iter=2000))
    emotion = clf.fit(X_train["essay"], Y_train["emotion"]).predict(X_dev["essay"])
    reg = make_pipeline(TfidfVectorizer(min_df=2), Ridge())
    scores = reg.fit(X_train["essay"], Y_train[["empathy", "distress"]]).predict(X_dev["essay"])
    return Y_dev, emotion, scores


def test_pearson_matches_scipy(dev_predictions):
    Y_dev, _, scores = dev_predictions
    for j, name in enumerate(["empathy", "distress"]):
        expected = stats.pearsonr(Y_dev[name], scores[:, j])[0]
        assert pearson_score(Y_dev[name], scores[:, j]) == pytest.approx(expected)
    raw = pearson_score(Y_dev[["empathy", "distress"]], scores, multioutput="raw_values")
    assert average_pearson(Y_dev[["empathy", "distress"]], scores) == pytest.approx(raw.mean())
    assert 0.2 < raw.min() < raw.max() < 0.8  # TF-IDF ridge is informative, not perfect


def test_pearson_edge_cases():
    assert pearson_score([1, 2, 3], [2, 2, 2]) == 0.0  # constant prediction
    with pytest.raises(ValueError, match="NaN"):
        pearson_score([1, 2, np.nan], [1, 2, 3])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        pearson_score([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="outputs"):
        pearson_score([[1, 2], [2, 3], [3, 1]], [1, 2, 3])


def test_wassa_evaluate_tracks(dev_predictions):
    Y_dev, emotion, scores = dev_predictions
    track2 = wassa_evaluate(Y_dev["emotion"], emotion)
    assert track2["macro_f1"] == pytest.approx(f1_score(Y_dev["emotion"], emotion, average="macro"))
    assert track2["micro_f1"] == pytest.approx(np.mean(Y_dev["emotion"] == emotion))
    assert track2["macro_precision"] == pytest.approx(
        precision_score(Y_dev["emotion"], emotion, average="macro", zero_division=0)
    )
    assert track2["macro_recall"] == pytest.approx(
        recall_score(Y_dev["emotion"], emotion, average="macro")
    )
    for name in ("micro_precision", "micro_recall"):  # single-label: both equal accuracy
        assert track2[name] == pytest.approx(
            (precision_score if "precision" in name else recall_score)(
                Y_dev["emotion"], emotion, average="micro"
            )
        )
    track1 = wassa_evaluate(Y_dev[["empathy", "distress"]], scores)
    assert set(track1) == {"empathy_pearson", "distress_pearson", "average_pearson"}
    assert track1["average_pearson"] == pytest.approx(
        (track1["empathy_pearson"] + track1["distress_pearson"]) / 2
    )
    assert set(wassa_evaluate(Y_dev["empathy"], scores[:, 0])) == {"pearson"}
    # whole-number float scores are still Track 1
    assert "pearson" in wassa_evaluate(np.array([1.0, 2.0, 7.0]), np.array([1.5, 2.5, 6.0]))


def test_wassa_evaluate_scores_a_multitask_frame_per_track(dev_predictions):
    Y_dev, emotion, scores = dev_predictions
    Y = Y_dev[["emotion", "empathy", "distress"]]
    # a multi-task model's frame: its score columns may come back as objects
    pred = pd.DataFrame(
        {"emotion": emotion, "empathy": scores[:, 0].astype(object), "distress": scores[:, 1]},
        index=Y.index,
    )
    both = wassa_evaluate(Y, pred)
    expected = wassa_evaluate(Y["emotion"], emotion)
    expected.update(wassa_evaluate(Y[["empathy", "distress"]], scores))
    assert both == pytest.approx(expected)
    assert list(both)[0] == "macro_f1"  # the label track first, then the scores
    # an array in the frame's column order, or the frame's columns in another order
    assert wassa_evaluate(Y, pred.to_numpy()) == pytest.approx(expected)
    assert wassa_evaluate(Y, pred[["distress", "emotion", "empathy"]]) == pytest.approx(expected)
    # two label columns are told apart by name
    two = wassa_evaluate(Y.assign(sentiment=Y["emotion"]), pred.assign(sentiment=emotion))
    assert two["emotion_macro_f1"] == two["sentiment_macro_f1"] == expected["macro_f1"]
    with pytest.raises(ValueError, match=r"lacks the columns \['distress'\]"):
        wassa_evaluate(Y, pred[["emotion", "empathy"]])
    with pytest.raises(ValueError, match="3 columns"):
        wassa_evaluate(Y, scores)


def test_bootstrap_test_on_a_multitask_frame_tests_the_named_track(dev_predictions):
    Y_dev, emotion, scores = dev_predictions
    Y = Y_dev[["emotion", "empathy", "distress"]]
    a = pd.DataFrame({"emotion": emotion, "empathy": scores[:, 0], "distress": scores[:, 1]})
    b = a.assign(emotion=np.roll(emotion, 7), empathy=np.roll(scores[:, 0], 7))
    groups = load_wassa("dev").groups
    kw = dict(groups=groups, n_resamples=200, random_state=0)
    for key, columns, metric in [
        ("macro_f1", "emotion", "macro_f1"),
        ("average_pearson", ["empathy", "distress"], "average_pearson"),
        ("empathy_pearson", "empathy", "pearson"),
    ]:
        on_frame = bootstrap_test(Y, a, b.to_numpy(), key, **kw)
        alone = bootstrap_test(Y[columns], a[columns], b[columns], metric, **kw)
        assert on_frame == alone
        assert on_frame.score_a == pytest.approx(wassa_evaluate(Y, a)[key])
    assert bootstrap_test(Y, a, b, "macro_f1", **kw).p_value < 0.05  # shuffled emotions lose
    with pytest.raises(ValueError, match="Unknown metric 'macro_recall'"):
        bootstrap_test(Y, a, b, "macro_recall")


def test_scorers_work_in_grouped_cross_validation():
    wassa = load_wassa("train")
    model = make_pipeline(TfidfVectorizer(min_df=2), Ridge())
    cv = GroupKFold(n_splits=3)
    X, y = wassa.data["essay"], wassa.target["empathy"]
    result = cross_validate(
        model, X, y, groups=wassa.groups, cv=cv, scoring={"pearson": get_scorer("pearson")}
    )
    predictions = cross_val_predict(model, X, y, groups=wassa.groups, cv=cv)
    for fold, (_, test) in enumerate(cv.split(X, y, wassa.groups)):
        expected = stats.pearsonr(y.iloc[test], predictions[test])[0]
        assert result["test_pearson"][fold] == pytest.approx(expected)
    Y = wassa.target[["empathy", "distress"]]
    multi = cross_validate(
        model, X, Y, groups=wassa.groups, cv=cv, scoring=get_scorer("average_pearson")
    )
    assert np.all(multi["test_score"] > 0.2)
    assert get_scorer("f1_macro") is not None  # sklearn names still work
    with pytest.raises(ValueError, match="Unknown scoring 'pearsonn'"):
        get_scorer("pearsonn")


def test_bootstrap_detects_clearly_better_system(dev_predictions):
    Y_dev, emotion, _ = dev_predictions
    X_train, y_train = load_wassa("train", target="emotion", return_X_y=True)
    majority = DummyClassifier().fit(X_train, y_train).predict(load_wassa("dev").data)
    better = bootstrap_test(Y_dev["emotion"], emotion, majority, "macro_f1", random_state=0)
    assert better.delta > 0.1 and better.p_value < 0.01
    worse = bootstrap_test(Y_dev["emotion"], majority, emotion, "macro_f1", random_state=0)
    assert worse.p_value == 1.0
    again = bootstrap_test(Y_dev["emotion"], emotion, majority, "macro_f1", random_state=0)
    assert again == better  # reproducible
    assert better.sample_size == round(0.3 * 270) and better.n_resamples == 1000


def test_grouped_bootstrap_resamples_whole_writers(dev_predictions):
    Y_dev, emotion, scores = dev_predictions
    writers = load_wassa("dev").groups.to_numpy()
    noisy = scores[:, 0] + np.random.RandomState(0).normal(scale=0.3, size=len(scores))
    kw = dict(metric="pearson", random_state=3, n_resamples=300, sample_fraction=0.5)
    item = bootstrap_test(Y_dev["empathy"], scores[:, 0], noisy, **kw)
    assert 0.0 < item.p_value < 1.0 and item.n_resamples == 300
    # one group per item (in item order) is the item-level bootstrap, draw for draw
    singletons = bootstrap_test(
        Y_dev["empathy"], scores[:, 0], noisy, groups=np.arange(len(scores)), **kw
    )
    assert singletons == item
    grouped = bootstrap_test(Y_dev["empathy"], scores[:, 0], noisy, groups=writers, **kw)
    assert grouped.sample_size == round(0.5 * 54)  # 54 writers x 5 essays
    assert grouped.delta == item.delta and grouped.p_value != item.p_value
    majority = np.full(len(emotion), "sadness", dtype=object)
    assert (
        bootstrap_test(Y_dev["emotion"], emotion, majority, groups=writers, random_state=0).p_value
        < 0.01
    )
    with pytest.raises(ValueError):
        bootstrap_test(Y_dev["emotion"], emotion, majority, groups=writers[:10])


def test_bootstrap_on_close_systems_is_not_significant(dev_predictions):
    Y_dev, _, scores = dev_predictions
    rng = np.random.RandomState(0)
    noisy = scores[:, 0] + rng.normal(scale=0.05, size=len(scores))
    result = bootstrap_test(Y_dev["empathy"], scores[:, 0], noisy, "pearson", random_state=1)
    assert result.p_value > 0.05
    with pytest.raises(ValueError, match="sample_fraction"):
        bootstrap_test([1.0, 2.0], [1.0, 2.0], [2.0, 1.0], "pearson", sample_fraction=0)
    with pytest.raises(ValueError, match="Unknown metric"):
        bootstrap_test([1.0, 2.0], [1.0, 2.0], [2.0, 1.0], "spearman")


def test_dataframe_columns_name_the_outputs():
    Y = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 1.0, 2.0]})
    scores = wassa_evaluate(Y, Y.to_numpy())
    assert set(scores) == {"a_pearson", "b_pearson", "average_pearson"}
