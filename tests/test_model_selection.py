"""compare_models on real WASSA data: identical grouped folds, p-value direction,
failure isolation, clear errors, the result object and the ``compare`` CLI."""

import argparse
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.exceptions import FitFailedWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import Ridge, RidgeClassifier
from sklearn.metrics import r2_score
from sklearn.model_selection import GroupKFold, KFold, ShuffleSplit, StratifiedGroupKFold
from sklearn.pipeline import make_pipeline

from skempathy.datasets import load_wassa
from skempathy.metrics import pearson_score, wassa_evaluate
from skempathy.model_selection import (
    ComparisonResult,
    check_group_cv,
    check_no_group_leakage,
    compare_models,
    make_splits,
    resolve_groups,
)

NUMERIC = [
    "iri_empathic_concern",
    "iri_perspective_taking",
    "iri_personal_distress",
    "personality_agreeableness",
    "age",
]
_FIT_LOG = []


class RecordingRegressor(RegressorMixin, BaseEstimator):
    """Ridge that logs the row labels it was trained on (to compare folds across models)."""

    def __init__(self, tag="a", alpha=1.0):
        self.tag = tag
        self.alpha = alpha

    def fit(self, X, y):
        _FIT_LOG.append((self.tag, frozenset(X.index)))
        self.model_ = Ridge(alpha=self.alpha).fit(X, y)
        return self

    def predict(self, X):
        return self.model_.predict(X)


class FailingRegressor(RegressorMixin, BaseEstimator):
    """Fails to fit whenever the training rows include ``bad_row`` (one fold is spared)."""

    def __init__(self, bad_row=0):
        self.bad_row = bad_row

    def fit(self, X, y):
        if self.bad_row in X.index:
            raise RuntimeError("deliberate failure")
        self.model_ = Ridge().fit(X, y)
        return self

    def predict(self, X):
        return self.model_.predict(X)


class MemoryHog(RegressorMixin, BaseEstimator):
    def fit(self, X, y):
        self.buffer_ = np.ones(25_000_000)  # 200 MB, kept
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


@pytest.fixture(scope="module")
def wassa():
    return load_wassa("train")


@pytest.fixture(scope="module")
def text_result(wassa):
    """TF-IDF ridge vs the mean on empathy + distress, 5 grouped folds."""
    models = {
        "mean": DummyRegressor(),
        "tfidf": make_pipeline(TfidfVectorizer(min_df=2), Ridge()),
    }
    return compare_models(
        models,
        wassa.data["essay"],
        wassa.target[["empathy", "distress"]],
        groups=wassa.groups,
        baseline="mean",
        n_resamples=300,
        random_state=0,
        show_progress=False,
    )


def test_folds_identical_across_models_and_groups_separated(wassa):
    X = wassa.data[NUMERIC]
    y = wassa.target["empathy"]
    _FIT_LOG.clear()
    result = compare_models(
        {"a": RecordingRegressor("a"), "b": RecordingRegressor("b", alpha=100.0)},
        X,
        y,
        groups=wassa.groups,
        show_progress=False,
        measure_memory=False,
    )
    assert len(result.splits) == 5
    assert isinstance(result.cv, GroupKFold)
    trained_a = sorted(rows for tag, rows in _FIT_LOG if tag == "a")
    trained_b = sorted(rows for tag, rows in _FIT_LOG if tag == "b")
    assert len(trained_a) == len(trained_b) == 5
    assert trained_a == trained_b  # every model saw exactly the same training folds
    assert trained_a == sorted(frozenset(train) for train, _ in result.splits)
    # the test folds partition the data and no writer straddles train and test
    tested = np.concatenate([test for _, test in result.splits])
    assert sorted(tested) == list(range(len(y)))
    groups = wassa.groups.to_numpy()
    for train, test in result.splits:
        assert not set(groups[train]) & set(groups[test])
    np.testing.assert_array_equal(result.tested_indices(), np.arange(len(y)))
    np.testing.assert_array_equal(result.oof_groups(), groups)  # row-aligned with oof()
    assert check_no_group_leakage(result.splits, groups) == [0] * 5
    # out-of-fold predictions: each row predicted by the model not trained on it
    for k, (train, test) in enumerate(result.splits):
        model = Ridge().fit(X.iloc[train], y.iloc[train])
        np.testing.assert_allclose(result.predictions["a"][test], model.predict(X.iloc[test]))
        fold = result.fold_scores.query("model == 'a' and fold == @k").score.item()
        assert fold == pytest.approx(pearson_score(y.iloc[test], model.predict(X.iloc[test])))
    row = result[result.model == "a"].iloc[0]
    assert row["pooled"] == pytest.approx(pearson_score(y, result.predictions["a"]))
    assert row["mean"] == pytest.approx(result.fold_scores.query("model == 'a'").score.mean())


def test_classification_uses_stratified_grouped_folds(wassa):
    X, y = wassa.data["essay"], wassa.target["emotion"]
    result = compare_models(
        {
            "majority": DummyClassifier(),
            "tfidf": make_pipeline(TfidfVectorizer(min_df=3), RidgeClassifier()),
        },
        X,
        y,
        cv=3,
        groups=wassa.groups,
        baseline="majority",
        n_resamples=200,
        random_state=0,
        show_progress=False,
    )
    assert isinstance(result.cv, StratifiedGroupKFold)
    groups = wassa.groups.to_numpy()
    for train, test in result.splits:
        assert not set(groups[train]) & set(groups[test])
    assert result.task == "classification"
    assert result.primary_metric == "macro_f1"
    assert set(result.metric.unique()) == set(wassa_evaluate(y[:10], y[:10]))
    oof = result.predictions["tfidf"]
    assert set(oof) <= set(y)
    assert result.summary().loc["tfidf", "macro_f1_pooled"] == pytest.approx(
        wassa_evaluate(y, oof)["macro_f1"]
    )
    assert result.summary().loc["tfidf", "p_value"] < 0.05


def test_p_value_direction(wassa, text_result):
    summary = text_result.summary()
    assert summary.loc["tfidf", "average_pearson_pooled"] > 0.2
    assert summary.loc["tfidf", "p_value"] < 0.01  # clearly better than the mean
    assert np.isnan(summary.loc["mean", "p_value"])  # the baseline is not tested
    # the same predictions the other way round: the mean never beats TF-IDF
    reverse = compare_models(
        {"tfidf": make_pipeline(TfidfVectorizer(min_df=2), Ridge()), "mean": DummyRegressor()},
        wassa.data["essay"],
        wassa.target[["empathy", "distress"]],
        groups=wassa.groups,
        baseline="tfidf",
        n_resamples=300,
        random_state=0,
        show_progress=False,
    )
    assert reverse.summary().loc["mean", "p_value"] > 0.5
    np.testing.assert_allclose(reverse.predictions["tfidf"], text_result.predictions["tfidf"])


def test_scatter_titles_give_the_tables_pooled_r(text_result):
    """The report agrees with itself: each panel's r is the table's pooled r (0 for the mean)."""
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    table = text_result.summary()
    for model in ("mean", "tfidf"):
        figure = text_result.plot("predictions", model=model)
        titles = [ax.get_title() for ax in figure.axes]
        plt.close(figure)
        for title, target in zip(titles, ["empathy", "distress"]):
            r = float(title.split("r = ")[1].split(",")[0])
            assert r == pytest.approx(table.loc[model, f"{target}_pearson_pooled"], abs=6e-4)
    assert table.loc["mean", "empathy_pearson_pooled"] == pytest.approx(0)


def test_two_similar_models_are_not_significant(wassa):
    X, y = wassa.data[NUMERIC], wassa.target["distress"]
    result = compare_models(
        {"ridge": Ridge(alpha=1.0), "ridge2": Ridge(alpha=1.5)},
        X,
        y,
        groups=wassa.groups,
        baseline="ridge",
        n_resamples=300,
        random_state=0,
        show_progress=False,
    )
    assert result.summary().loc["ridge2", "p_value"] > 0.05


def test_failing_estimator_does_not_abort(wassa):
    X, y = wassa.data[NUMERIC], wassa.target["empathy"]
    with pytest.warns(FitFailedWarning, match="4 of 5 folds of 'flaky'"):
        result = compare_models(
            {"ridge": Ridge(), "flaky": FailingRegressor(bad_row=0), "mean": DummyRegressor()},
            X,
            y,
            groups=wassa.groups,
            baseline="mean",
            n_resamples=100,
            random_state=0,
            show_progress=False,
        )
    summary = result.summary()
    assert summary.loc["ridge", "n_folds"] == 5 and summary.loc["ridge", "error"] == ""
    assert summary.loc["mean", "n_folds"] == 5
    assert summary.loc["flaky", "n_folds"] == 1
    assert "RuntimeError: deliberate failure" in summary.loc["flaky", "error"]
    assert np.isnan(summary.loc["flaky", "pearson_pooled"])
    assert np.isnan(summary.loc["flaky", "p_value"])
    assert not np.isnan(summary.loc["flaky", "pearson_mean"])  # the one fold that worked
    assert not np.isnan(summary.loc["ridge", "p_value"])
    failed = result.fold_info.query("model == 'flaky' and error != ''")
    assert len(failed) == 4
    assert "deliberate failure" in result.tracebacks[("flaky", failed.fold.iloc[0])]
    # the only successful fold is the one whose test side holds row 0
    ok_fold = result.fold_info.query("model == 'flaky' and error == ''").fold.item()
    assert 0 in result.splits[ok_fold][1]
    assert "failed 4/5 folds" in result.to_markdown()


def test_clear_errors(wassa):
    X, y = wassa.data, wassa.target["empathy"]
    models = {"mean": DummyRegressor()}
    with pytest.raises(ValueError, match="X has 1860 samples but y has 1859"):
        compare_models(models, X, y[:-1], show_progress=False)
    with pytest.raises(ValueError, match="'response_id' is not a column of X"):
        compare_models(models, X, y, groups="response_id", show_progress=False)
    with pytest.raises(ValueError, match="groups has 10 entries but X has 1860"):
        compare_models(models, X, y, groups=wassa.groups[:10], show_progress=False)
    with pytest.raises(ValueError, match="Unknown scoring name 'pearsonr'"):
        compare_models(models, X, y, scoring="pearsonr", show_progress=False)
    with pytest.raises(ValueError, match="is a classification metric"):
        compare_models(models, X, y, scoring="macro_f1", show_progress=False)
    with pytest.raises(ValueError, match="needs 'predict_proba'"):
        compare_models(
            {"m": DummyClassifier()},
            X,
            wassa.target["emotion"],
            scoring="neg_log_loss",
            show_progress=False,
        )
    with pytest.raises(ValueError, match="baseline 'ridge' is not one of"):
        compare_models(models, X, y, baseline="ridge", show_progress=False)
    with pytest.raises(ValueError, match="test folds .* overlap"):
        compare_models(models, X, y, cv=ShuffleSplit(3, random_state=0), show_progress=False)
    with pytest.raises(ValueError, match="non-empty dict"):
        compare_models({}, X, y, show_progress=False)
    with pytest.raises(TypeError, match="must be an estimator with fit and predict"):
        compare_models({"x": "ridge"}, X, y, show_progress=False)
    frame = wassa.frame.copy()
    frame.loc[3, "response_id"] = None
    with pytest.raises(ValueError, match="groups has 1 missing labels"):
        compare_models(
            models, frame[NUMERIC + ["response_id"]], y, groups="response_id", show_progress=False
        )


def test_groups_by_column_name_and_leaky_splitter_warns(wassa):
    X = wassa.frame[NUMERIC + ["response_id"]]
    y = wassa.target["empathy"]
    est = make_pipeline_numeric()
    result = compare_models({"ridge": est}, X, y, groups="response_id", cv=4, show_progress=False)
    assert len(result.splits) == 4
    assert np.array_equal(result.groups, wassa.groups.to_numpy())
    with pytest.warns(UserWarning, match="groups have samples in both train and test"):
        compare_models(
            {"ridge": est},
            X,
            y,
            groups="response_id",
            cv=KFold(5, shuffle=True, random_state=0),
            show_progress=False,
        )


def make_pipeline_numeric():
    from sklearn.compose import make_column_transformer

    return make_pipeline(make_column_transformer(("passthrough", NUMERIC)), Ridge())


def test_custom_scoring(wassa):
    X, y = wassa.data[NUMERIC], wassa.target["empathy"]

    def mae_neg(y_true, y_pred):
        return -np.mean(np.abs(np.asarray(y_true) - np.asarray(y_pred)))

    result = compare_models(
        {"ridge": Ridge()},
        X,
        y,
        groups=wassa.groups,
        scoring={"r2": "r2", "pearson": "pearson", "neg_mae": mae_neg},
        show_progress=False,
    )
    assert result.metric_names == ["r2", "pearson", "neg_mae"]
    assert result.primary_metric == "r2"
    pooled = result.set_index("metric")["pooled"]
    oof = result.predictions["ridge"]
    assert pooled["r2"] == pytest.approx(r2_score(y, oof))
    assert pooled["pearson"] == pytest.approx(pearson_score(y, oof))
    assert pooled["neg_mae"] == pytest.approx(mae_neg(y, oof))


def test_parallel_matches_sequential_and_memory_is_measured(wassa):
    X, y = wassa.data[NUMERIC], wassa.target["distress"]
    seq = compare_models(
        {"ridge": Ridge(), "hog": MemoryHog()}, X, y, groups=wassa.groups, cv=3, show_progress=False
    )
    par = compare_models(
        {"ridge": Ridge(), "hog": MemoryHog()},
        X,
        y,
        groups=wassa.groups,
        cv=3,
        n_jobs=2,
        show_progress=False,
    )
    np.testing.assert_allclose(par.predictions["ridge"], seq.predictions["ridge"])
    hog = seq.summary().loc["hog"]
    assert hog["peak_memory_mb"] > 150  # 200 MB array allocated in fit
    assert seq.summary().loc["ridge", "peak_memory_mb"] < 100
    assert (seq.fold_info.fit_time > 0).all()


def test_result_is_a_tidy_dataframe(text_result, tmp_path):
    assert isinstance(text_result, pd.DataFrame)
    assert isinstance(text_result, ComparisonResult)
    assert list(text_result.columns) == ComparisonResult.COLUMNS
    assert len(text_result) == 2 * 3  # 2 models x (average, empathy, distress)
    sub = text_result[text_result.metric == "average_pearson"]
    assert type(sub) is pd.DataFrame  # pandas operations give plain frames
    path = tmp_path / "table.csv"
    text_result.to_csv(path, index=False)
    assert pd.read_csv(path).shape == text_result.shape
    clone = pickle.loads(pickle.dumps(text_result))
    assert clone.primary_metric == "average_pearson"
    np.testing.assert_allclose(clone.predictions["tfidf"], text_result.predictions["tfidf"])
    md = text_result.to_markdown()
    lines = md.strip().splitlines()
    assert lines[0].startswith("| model | average_pearson (mean ± sd) |")
    assert "| mean (baseline) |" in md and "p vs mean" in lines[0]
    assert len(lines) == 4
    assert text_result.best_model() == "tfidf"


def test_helpers():
    groups = np.repeat(np.arange(10), 5)
    cv = check_group_cv(5, groups=groups)
    assert isinstance(cv, GroupKFold)
    assert isinstance(check_group_cv(5, groups=groups, classifier=True), StratifiedGroupKFold)
    assert isinstance(check_group_cv(3), KFold)
    splits = make_splits(cv, np.zeros((50, 1)), groups=groups)
    assert check_no_group_leakage(splits, groups) == [0] * 5
    leaky = [(tr, te) for tr, te in KFold(5, shuffle=True, random_state=0).split(groups)]
    with pytest.raises(ValueError, match="both train and test"):
        check_no_group_leakage(leaky, groups)
    with pytest.raises(ValueError, match="at least 2 folds"):
        check_group_cv(1, groups=groups)
    with pytest.raises(ValueError, match="without columns"):
        resolve_groups("response_id", np.zeros((3, 2)))


def test_compare_cli(tmp_path):
    from skempathy.cli import add_common_arguments
    from skempathy._commands import compare as _cli

    parser = add_common_arguments(_cli.add_arguments(argparse.ArgumentParser()))
    out = tmp_path / "cmp"
    args = parser.parse_args(
        [
            "--task",
            "empathy",
            "--models",
            "mean,tfidf-ridge",
            "--cv",
            "3",
            "--out",
            str(out),
            "--n-resamples",
            "100",
            "--quiet",
        ]
    )
    assert _cli.run(args) == 0
    names = {p.name for p in out.iterdir()}
    assert {
        "comparison.md",
        "comparison.csv",
        "fold_scores.csv",
        "fold_info.csv",
        "scores.png",
        "predictions_mean.png",
        "predictions_tfidf-ridge.png",
        "slices.csv",
        "report.html",
    } <= names
    table = pd.read_csv(out / "comparison.csv")
    assert set(table.model) == {"mean", "tfidf-ridge"}
    assert (out / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "Slices by demographic group" in html
    slices = pd.read_csv(out / "slices.csv")
    assert {"gender", "race", "age", "income"} <= set(slices.attribute)
    bad = parser.parse_args(
        ["--task", "empathy", "--models", "mean", "--out", str(out), "--baseline", "svr"]
    )
    assert _cli.run(bad) == 2
    bad = parser.parse_args(["--task", "empathy", "--models", "mean,nohead", "--out", str(out)])
    assert _cli.run(bad) == 2


def test_compare_command_on_emotion_writes_confusion_matrices_as_svg(tmp_path, capsys):
    from skempathy.cli import main

    out = tmp_path / "emo"
    code = main(
        [
            "compare",
            "--task",
            "emotion",
            "--models",
            "mean,tfidf-ridge",
            "--cv",
            "2",
            "--out",
            str(out),
            "--n-resamples",
            "50",
            "--plot-format",
            "svg",
            "--no-slices",
            "--quiet",
        ]
    )
    assert code == 0
    names = {p.name for p in out.iterdir()}
    assert {
        "comparison.md",
        "comparison.csv",
        "scores.svg",
        "confusion_mean.svg",
        "confusion_tfidf-ridge.svg",
        "report.html",
    } <= names
    assert "slices.csv" not in names
    assert (out / "scores.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    table = pd.read_csv(out / "comparison.csv")
    f1 = table[table.metric == "macro_f1"].set_index("model")
    assert f1.loc["tfidf-ridge", "pooled"] > f1.loc["mean", "pooled"] + 0.15
    assert f1.loc["tfidf-ridge", "p_value"] < 0.05  # vs the first model, the baseline
    capsys.readouterr()
    assert (
        main(
            [
                "compare",
                "--task",
                "emotion",
                "--models",
                "mean",
                "--cv",
                "1",
                "--out",
                str(tmp_path / "bad"),
                "--quiet",
            ]
        )
        == 2
    )  # bad arguments
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--cv must be at least 2" in err[0]
    assert not (tmp_path / "bad").exists()


def test_compare_without_matplotlib_names_the_extra_and_runs_with_no_plots(
    tmp_path, capsys, monkeypatch
):
    import importlib.util

    from skempathy.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",  # a base install: no matplotlib
        lambda name, *a: None if name == "matplotlib" else real(name, *a),
    )
    command = [
        "compare",
        "--task",
        "empathy",
        "--models",
        "mean,tfidf-ridge",
        "--cv",
        "2",
        "--n-resamples",
        "0",
        "--no-slices",
        "--quiet",
    ]
    capsys.readouterr()
    assert main(command + ["--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "skempathy[plots]" in err and "--no-plots" in err
    assert main(command + ["--out", str(tmp_path / "b") + "/", "--no-plots"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote to {tmp_path / 'b'}: comparison.md" in printed and ".png" not in printed
    names = {p.name for p in (tmp_path / "b").iterdir()}
    assert {"comparison.md", "comparison.csv", "report.html"} <= names
    assert not any(name.endswith(".png") for name in names)
    assert "data:image/png" not in (tmp_path / "b" / "report.html").read_text()


def test_embeddings_computed_once_across_models_and_folds(tiny_bert_path):
    from skempathy.text import SentenceEmbedder, clear_embedding_cache, embedding_cache_info

    dev = load_wassa("dev")
    X, y = dev.data["essay"][:60], dev.target["empathy"][:60]
    embedder = SentenceEmbedder(tiny_bert_path, device="cpu", show_progress=False)
    models = {
        "ridge": make_pipeline(embedder, Ridge()),
        "ridge10": make_pipeline(embedder, Ridge(alpha=10.0)),
    }
    clear_embedding_cache()
    result = compare_models(models, X, y, cv=3, groups=dev.groups[:60], show_progress=False)
    info = embedding_cache_info()
    assert result.summary().n_folds.tolist() == [3, 3]
    assert info["misses"] == X.nunique()  # every essay encoded exactly once
    assert info["hits"] >= 2 * 2 * len(X) - X.nunique()  # 2 models x (train + test) reads


def test_train_dev_test_split_on_newsemp():
    """80/10/10 of NewsEmp's 1,860 essays: disjoint parts that cover every essay, stratified
    parts keep the class shares, and grouped parts keep every writer on one side."""
    from skempathy.datasets import load_newsemp
    from skempathy.model_selection import train_dev_test_split

    frame = load_newsemp().frame
    y = frame["empathy_bin"].to_numpy()
    parts = train_dev_test_split(frame, y, stratify=y, random_state=0)
    train, dev, test = parts[:3]
    assert (len(train), len(dev), len(test)) == (1488, 186, 186)
    assert sorted(np.concatenate([p.index for p in parts[:3]])) == list(frame.index)
    for labels in parts[3:]:
        assert abs(labels.mean() - y.mean()) < 0.01
    a = train_dev_test_split(frame, random_state=0)
    assert all(
        x.index.equals(z.index) for x, z in zip(a, train_dev_test_split(frame, random_state=0))
    )
    g_train, g_dev, g_test = train_dev_test_split(frame, groups="response_id", random_state=0)
    writers = [set(p["response_id"]) for p in (g_train, g_dev, g_test)]
    assert not (writers[0] & writers[1] or writers[0] & writers[2] or writers[1] & writers[2])
    assert len(writers[2]) == round(0.1 * frame["response_id"].nunique())
    with pytest.raises(ValueError, match="below 1"):
        train_dev_test_split(frame, dev_size=0.5, test_size=0.5)
    with pytest.raises(ValueError, match="inconsistent"):
        train_dev_test_split(frame, y[:10])
    with pytest.raises(ValueError, match="groups or stratify"):
        train_dev_test_split(frame, groups="response_id", stratify=y)
