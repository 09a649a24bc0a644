"""Plots, slice report and HTML report on real WASSA comparisons."""

import base64
import re

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression, Ridge

from skempathy.datasets import WASSA_CODEBOOKS, load_wassa
from skempathy.metrics import pearson_score, wassa_evaluate
from skempathy.model_selection import compare_models
from skempathy.report import (
    figure_to_base64,
    make_html_report,
    plot_confusion_matrix,
    plot_predictions,
    plot_scores,
    save_figure,
    slice_report,
)

NUMERIC = [
    "iri_empathic_concern",
    "iri_perspective_taking",
    "iri_personal_distress",
    "personality_agreeableness",
]


class Broken(RegressorMixin, BaseEstimator):
    def fit(self, X, y):
        raise ValueError("cannot fit <this>")

    def predict(self, X):  # pragma: no cover
        return np.zeros(len(X))


@pytest.fixture(scope="module")
def wassa():
    return load_wassa("train")


@pytest.fixture(scope="module")
def regression(wassa):
    with pytest.warns(FitFailedWarning, match="5 of 5 folds of 'broken'"):
        return compare_models(
            {"mean": DummyRegressor(), "ridge": Ridge(), "broken": Broken()},
            wassa.data[NUMERIC],
            wassa.target[["empathy", "distress"]],
            groups=wassa.groups,
            baseline="mean",
            n_resamples=200,
            random_state=0,
            show_progress=False,
        )


@pytest.fixture(scope="module")
def classification(wassa):
    return compare_models(
        {"majority": DummyClassifier(), "logreg": LogisticRegression(max_iter=500)},
        wassa.data[NUMERIC],
        wassa.target["emotion"],
        cv=3,
        groups=wassa.groups,
        baseline="majority",
        n_resamples=200,
        random_state=0,
        show_progress=False,
    )


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_plot_scores_marks_and_spread(regression):
    fig = plot_scores(regression)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["mean\n(baseline)", "ridge", "broken"]
    marks = _texts(fig)
    p = regression.summary().loc["ridge", "p_value"]
    assert p < 0.001 and "***" in marks  # significance mark for ridge
    assert "failed" in marks  # the broken model is shown as failed
    # one dot per successful fold (2 models x 5 folds) + pooled diamonds
    from matplotlib.collections import PathCollection

    points = [c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)]
    assert sorted(len(o) for o in points) == [1, 1, 5, 5]  # 5 folds + pooled, per model
    ridge_folds = regression.fold_scores.query(
        "model == 'ridge' and metric == 'average_pearson'"
    ).score
    drawn = next(o for o in points if len(o) == 5 and np.mean(o[:, 0]) > 0.5)[:, 1]
    np.testing.assert_allclose(np.sort(drawn), np.sort(ridge_folds))
    assert ax.get_ylabel() == "average_pearson"
    fig2 = regression.plot("scores", metric="empathy_pearson")
    assert fig2.axes[0].get_ylabel() == "empathy_pearson"
    with pytest.raises(ValueError, match="Unknown metric"):
        plot_scores(regression, metric="macro_f1")


def test_confusion_matrix_is_row_normalised(classification, wassa):
    fig = classification.plot("confusion", model="logreg")
    matrix = fig.axes[0].images[0].get_array()
    assert matrix.shape == (7, 7)
    np.testing.assert_allclose(np.asarray(matrix).sum(axis=1), 1.0)
    y_true, y_pred = classification.oof("logreg")
    fig = plot_confusion_matrix(y_true, y_pred, normalize=None)
    assert np.asarray(fig.axes[0].images[0].get_array()).sum() == len(y_true)
    with pytest.raises(ValueError, match="needs a regression comparison"):
        classification.plot("predictions")
    with pytest.raises(ValueError, match="normalize"):
        plot_confusion_matrix(y_true, y_pred, normalize="rows")


def test_prediction_scatter(regression):
    fig = regression.plot("predictions", model="ridge")
    assert len(fig.axes) == 2
    y_true, y_pred = regression.oof("ridge")
    r = pearson_score(y_true["empathy"], y_pred[:, 0])
    assert fig.axes[0].get_title() == f"ridge empathy: r = {r:.3f}, n = 1860"
    assert fig.axes[1].get_title().startswith("ridge distress")
    with pytest.raises(ValueError, match="needs a classification comparison"):
        regression.plot("confusion")
    with pytest.raises(ValueError, match="shapes differ"):
        plot_predictions([1.0, 2.0], [[1.0, 2.0], [1.0, 2.0]])


def test_save_figure_formats(regression, tmp_path):
    fig = regression.plot()
    save_figure(fig, tmp_path / "s.png")
    save_figure(fig, tmp_path / "s.svg")
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in (tmp_path / "s.svg").read_text()[:500]
    with pytest.raises(ValueError, match="Unsupported figure format"):
        save_figure(fig, tmp_path / "s.gif")
    assert base64.b64decode(figure_to_base64(fig))[:4] == b"\x89PNG"


def test_slice_report_counts_and_scores():
    dev = load_wassa("dev")
    y = dev.target["empathy"].to_numpy()
    pred = y + np.random.default_rng(0).normal(0, 1.5, len(y))
    table = slice_report(y, pred, dev.data, groups=dev.groups, min_count=20)
    assert table.iloc[0][["attribute", "group", "count"]].tolist() == ["overall", "all", 270]
    for column in ("gender", "race", "age", "income", "education"):
        assert table.query("attribute == @column")["count"].sum() == 270
    gender = table.query("attribute == 'gender'").set_index("group")
    counts = dev.data.gender.map(WASSA_CODEBOOKS["gender"]).value_counts()
    for label, count in counts.items():
        assert gender.loc[label, "count"] == count
        assert gender.loc[label, "n_groups"] == count // 5  # 5 essays per writer
    mask = (dev.data.gender == 2).to_numpy()
    assert gender.loc["female", "pearson"] == pytest.approx(pearson_score(y[mask], pred[mask]))
    assert gender.loc["female", "mean_gold"] == pytest.approx(y[mask].mean())
    age = table.query("attribute == 'age'")
    assert set(age.group) <= {"<25", "25-34", "35-44", "45-54", "55+"}
    mask = (dev.data.age >= 25).to_numpy() & (dev.data.age < 35).to_numpy()
    assert age.set_index("group").loc["25-34", "count"] == mask.sum()
    # small groups get a count but no score
    small = table[table["count"] < 20]
    assert len(small) and small.pearson.isna().all()
    custom = slice_report(
        y,
        pred,
        dev.data,
        columns=["income"],
        bins={"income": ([0, 50_000, np.inf], ["low", "high"])},
    )
    assert custom.group.tolist() == ["all", "low", "high"]


def test_slice_report_errors_and_classification(classification, wassa):
    y_true, y_pred = classification.oof("logreg")
    table = slice_report(y_true, y_pred, wassa.data, columns=["gender"])
    assert "macro_f1" in table.columns
    male = (wassa.data.gender == 1).to_numpy()
    expected = wassa_evaluate(np.asarray(y_true)[male], y_pred[male])["macro_f1"]
    assert table.set_index("group").loc["male", "macro_f1"] == pytest.approx(expected)
    with pytest.raises(ValueError, match="'religion' is not in demographics"):
        slice_report(y_true, y_pred, wassa.data, columns=["religion"])
    with pytest.raises(ValueError, match="same number of rows"):
        slice_report(y_true, y_pred, wassa.data.head(10))
    with pytest.raises(ValueError, match="none of the default columns"):
        slice_report(y_true, y_pred, wassa.data[["essay"]])
    per_model = classification.slice_report(wassa.data, columns=["race"])
    assert set(per_model.model) == {"majority", "logreg"}
    assert (per_model.query("group == 'all'")["n_groups"] == 372).all()


def test_html_report_is_self_contained(regression, wassa, tmp_path):
    page = make_html_report(regression, title="WASSA <test>", demographics=wassa.data)
    assert page.startswith("<!DOCTYPE html>")
    assert "WASSA &lt;test&gt;" in page
    assert not re.search(r"""(src|href)=["']https?:""", page)  # nothing fetched
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 1 + 2  # score plot + one scatter per finished model
    assert all(base64.b64decode(img)[:4] == b"\x89PNG" for img in images)
    assert "Slices by demographic group" in page and "Hispanic or Latino" in page
    assert "cannot fit &lt;this&gt;" in page  # failures listed, escaped
    assert "no group straddles train and test" in page
    regression.to_html(tmp_path / "r.html", plots=False)
    assert "<img" not in (tmp_path / "r.html").read_text()


def test_constant_baseline_pools_like_its_folds(regression, wassa):
    """A mean baseline has r = 0 in every fold; pooled, it must not turn negative."""
    table = regression.summary()
    assert table.loc["mean", "average_pearson_mean"] == 0.0
    assert table.loc["mean", "average_pearson_pooled"] == 0.0
    # its raw out-of-fold predictions still differ between folds (each fold's train mean) ...
    raw = regression.predictions["mean"]
    assert len(np.unique(raw[:, 0].round(9))) == len(regression.splits)
    # ... and pooled as they are they would correlate negatively with gold
    assert pearson_score(wassa.target["empathy"], raw[:, 0]) < -0.05
    # ridge's p-value is measured against the constant, whose bootstrap score is 0
    assert regression.summary().loc["ridge", "p_value"] < 0.001


def test_plot_scores_title_fits_the_figure(regression):
    fig = plot_scores(regression)
    fig.canvas.draw()
    title = fig.axes[0].title
    assert "\n" in title.get_text()  # the long default title is wrapped
    box = title.get_window_extent(renderer=fig.canvas.get_renderer())
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width
