"""Knowledge distillation (skempathy.distill) on real WASSA essays.

Teachers and students are TF-IDF pipelines (fast) or fine-tuned estimators on the
tiny random BERT of ``tiny_bert_path``.
"""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from skempathy.datasets import load_wassa
from skempathy.distill import UNLABELED_SOURCES, Distiller, unlabeled_texts
from skempathy.neural import MultiTaskTransformer, TransformerClassifier, TransformerRegressor

KW = dict(
    max_length=48, batch_size=8, max_epochs=2, learning_rate=5e-4, device="cpu", random_state=0
)


@pytest.fixture(scope="module")
def wassa():
    return load_wassa("train").frame.iloc[:400].reset_index(drop=True)


@pytest.fixture(scope="module")
def dev_essays():
    return load_wassa("dev").data["essay"].iloc[:150].reset_index(drop=True)


def _teacher():
    return make_pipeline(
        TfidfVectorizer(min_df=2),
        RandomForestClassifier(n_estimators=50, min_samples_leaf=3, random_state=0),
    )


def _student():
    return make_pipeline(TfidfVectorizer(min_df=2), LogisticRegression(max_iter=2000))


class _Spy(ClassifierMixin, BaseEstimator):
    """Records what the wrapped estimator was fitted on."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y, **params):
        self.fitted_on_ = (list(X), pd.Series(np.asarray(y)).tolist(), params)
        self.estimator_ = clone(self.estimator).fit(X, y, **params)
        self.classes_ = getattr(self.estimator_, "classes_", None)
        return self

    def predict(self, X):
        return self.estimator_.predict(X)

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)


def test_distills_a_classifier_and_measures_agreement(wassa, dev_essays):
    X, y = wassa["essay"], wassa["emotion"]
    d = Distiller(_teacher(), _student(), X_unlabeled=dev_essays, random_state=0).fit(X, y)
    assert set(d.predict(dev_essays)) <= set(y)
    proba = d.predict_proba(dev_essays)
    assert proba.shape == (len(dev_essays), len(d.classes_))
    np.testing.assert_allclose(proba.sum(1), 1)
    assert d.target_kinds_ == {"emotion": "classification"}
    # 15 of the 150 unlabeled essays were held out from the student
    assert d.n_distilled_ == len(X) + len(dev_essays) - 15
    agreement = d.teacher_agreement_["emotion"]
    assert 0.3 < agreement <= 1
    assert d.score(X, y) == pytest.approx(d.student_.score(X, y))


def test_alpha_one_without_unlabeled_texts_is_the_student_on_gold(wassa, dev_essays):
    X, y = wassa["essay"], wassa["emotion"]
    d = Distiller(_teacher(), _student(), alpha=1.0, validation_fraction=0).fit(X, y)
    alone = _student().fit(X, y)
    np.testing.assert_array_equal(d.predict_proba(dev_essays), alone.predict_proba(dev_essays))
    # alpha=0: the teacher's labels replace gold
    d = Distiller(_teacher(), _Spy(_student()), alpha=0.0, validation_fraction=0).fit(X, y)
    labels = d.student_.fitted_on_[1]
    assert labels == list(d.teacher_.predict(X)) and labels != list(y)


def test_unlabeled_rows_get_teacher_labels_and_never_gold(wassa, dev_essays):
    X, y = wassa["essay"], wassa["emotion"]
    teacher, student = _Spy(_teacher()), _Spy(_student())
    d = Distiller(teacher, student, X_unlabeled=dev_essays, alpha=1.0, validation_fraction=0).fit(
        X, y
    )
    fitted_X, fitted_y, _ = d.teacher_.fitted_on_
    assert fitted_X == list(X)  # the teacher never sees the unlabeled texts in fit
    student_X, student_y, _ = d.student_.fitted_on_
    assert student_X == list(X) + list(dev_essays)
    assert student_y[: len(X)] == list(y)  # alpha=1: gold labels on labelled rows
    assert student_y[len(X) :] == list(d.teacher_.predict(dev_essays))


def test_frozen_teacher_is_not_refitted_and_pickle_has_no_teacher(wassa, dev_essays):
    X, y = wassa["essay"], wassa["emotion"]
    fitted = _teacher().fit(X, y)
    forest = fitted[-1].estimators_[0]
    d = Distiller(FrozenEstimator(fitted), _student(), X_unlabeled=dev_essays, random_state=0).fit(
        X.iloc[:200], y.iloc[:200]
    )
    assert d.teacher_.estimator is fitted and fitted[-1].estimators_[0] is forest
    blob = pickle.dumps(d)
    assert len(blob) < len(pickle.dumps(d.student_)) + 5000 < len(pickle.dumps(fitted))
    loaded = pickle.loads(blob)
    assert loaded.teacher is None and loaded.teacher_ is None and loaded.X_unlabeled is None
    np.testing.assert_array_equal(loaded.predict(dev_essays), d.predict(dev_essays))
    with pytest.raises(ValueError, match="cannot be refitted"):
        loaded.fit(X, y)
    kept = pickle.loads(pickle.dumps(d.set_params(keep_teacher=True)))
    assert kept.teacher_.estimator is not None


def test_soft_targets_change_the_fine_tuned_student(tiny_bert_path, wassa):
    X, y = wassa["essay"].iloc[:80], wassa["emotion"].iloc[:80]
    classes = np.unique(y)
    one_hot = pd.DataFrame((y.to_numpy()[:, None] == classes).astype(float), columns=classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        hard = TransformerClassifier(tiny_bert_path, **KW).fit(X, y)
        same = TransformerClassifier(tiny_bert_path, **KW).fit(X, y, soft_targets=one_hot)
        flat = pd.DataFrame(np.full(one_hot.shape, 1 / len(classes)), columns=classes[::-1])
        soft = TransformerClassifier(tiny_bert_path, **KW).fit(X, y, soft_targets=flat)
        p_hard, p_same, p_soft = (m.predict_proba(X) for m in (hard, same, soft))
    np.testing.assert_allclose(p_same, p_hard, atol=1e-4)  # one-hot targets are the labels
    # a uniform target pulls every prediction towards uniform
    uniform = 1 / len(classes)
    assert np.abs(p_soft - uniform).mean() < 0.5 * np.abs(p_hard - uniform).mean()

    bad = TransformerClassifier(tiny_bert_path, **KW)
    with pytest.raises(ValueError, match="missing"):
        bad.fit(X, y, soft_targets=one_hot.iloc[:, 1:])
    with pytest.raises(ValueError, match="sum to 1"):
        bad.fit(X, y, soft_targets=one_hot * 2)
    with pytest.raises(ValueError, match="shape"):
        bad.fit(X, y, soft_targets=one_hot.to_numpy()[:10])
    with pytest.raises(ValueError, match="not a single-label classification"):
        TransformerRegressor(tiny_bert_path, **KW).fit(
            X, wassa["empathy"].iloc[:80], soft_targets=one_hot
        )


def test_multitask_teacher_to_fine_tuned_student(tiny_bert_path, wassa, dev_essays):
    X = wassa["essay"].iloc[:80]
    y = wassa[["emotion", "empathy"]].iloc[:80]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        d = Distiller(
            MultiTaskTransformer(tiny_bert_path, **KW),
            MultiTaskTransformer(tiny_bert_path, **KW),
            X_unlabeled=dev_essays.iloc[:40],
            temperature=2.0,
            random_state=0,
        ).fit(X, y)
        pred = d.predict(dev_essays.iloc[40:50])
    assert list(pred.columns) == ["emotion", "empathy"] and len(pred) == 10
    assert d.target_kinds_ == {"emotion": "classification", "empathy": "regression"}
    assert set(d.teacher_agreement_) == {"emotion", "empathy"}
    assert set(d.predict_proba(dev_essays.iloc[:5])) == {"emotion"}


@pytest.mark.parametrize("student_cls", [TransformerClassifier, TransformerRegressor])
def test_a_writer_column_pipeline_distils_into_a_text_column_student(tiny_bert_path, student_cls):
    """Teacher and student read the same WASSA frame: the student names its text column."""
    from skempathy.compose import make_wassa_pipeline
    from skempathy.text import SentenceEmbedder

    train, dev = load_wassa("train"), load_wassa("dev")
    X, X_dev = train.data.iloc[:60], dev.data.iloc[:20]
    target = "emotion" if student_cls is TransformerClassifier else "empathy"
    y = train.frame[target].iloc[:60]
    teacher = make_wassa_pipeline(
        target,
        head="logreg" if target == "emotion" else "ridge",
        embedder=SentenceEmbedder(tiny_bert_path),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        d = Distiller(
            teacher,
            student_cls(tiny_bert_path, text_column="essay", **KW),
            X_unlabeled=X_dev,
            random_state=0,
        ).fit(X, y)
        pred = d.predict(X_dev)
        # the student alone reads the essays, from the frame or as plain texts
        np.testing.assert_array_equal(
            pred, d.student_.set_params(text_column=None).predict(X_dev["essay"])
        )
    assert len(pred) == 20
    with pytest.raises(ValueError, match="no column 'text'"):
        d.student_.set_params(text_column="text").predict(X_dev)
    with pytest.raises(TypeError, match="needs X as a DataFrame"):
        d.student_.predict(list(X_dev["essay"]))


def test_teacher_vote_runs_its_multitask_member_once_per_text(tiny_bert_path, wassa, dev_essays):
    """The teacher is asked for predict_proba and predict: its multi-task member (emotion and
    empathy) encodes every text once, in the vote and in the distiller alike."""
    from skempathy.ensemble import MultiTaskVoting

    X, y = wassa["essay"].iloc[:80], wassa[["emotion", "empathy"]].iloc[:80]
    vote = MultiTaskVoting(
        [
            ("multitask", MultiTaskTransformer(tiny_bert_path, **KW), None),
            ("tfidf", _student(), "emotion"),
        ]
    )
    encoded = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        vote.fit(X, y)
        vote.named_estimators_["multitask"].model_.register_forward_hook(
            lambda module, args, out: encoded.append(len(args[0]))
        )
        pred = vote.predict(dev_essays.iloc[:30])
        assert sum(encoded) == 30  # predict and predict_proba of the member share one pass
        student = MultiTaskVoting(
            [
                ("emotion", _student(), "emotion"),
                ("empathy", make_pipeline(TfidfVectorizer(min_df=2), Ridge()), "empathy"),
            ]
        )
        d = Distiller(
            FrozenEstimator(vote),
            student,
            X_unlabeled=dev_essays.iloc[:40],
            alpha=0,
            random_state=0,
        ).fit(X, y)
    assert sum(encoded) == 30 + 120  # the 80 training and 40 unlabeled texts, once each
    assert pred.shape == (30, 2) and d.n_distilled_ == 120 - 4


def test_grid_search_over_alpha_and_clone(wassa):
    X, y = wassa["essay"], wassa["emotion"]
    d = Distiller(_teacher(), _student(), random_state=0)
    assert clone(d).get_params()["alpha"] == 0.5
    search = GridSearchCV(d, {"alpha": [0.2, 1.0]}, cv=2).fit(X, y)
    assert search.best_params_["alpha"] in (0.2, 1.0)
    assert search.best_estimator_.predict(X[:3]).shape == (3,)


def test_regression_teacher(wassa, dev_essays):
    X, y = wassa["essay"], wassa[["empathy", "distress"]].to_numpy()
    teacher = make_pipeline(TfidfVectorizer(min_df=2), Ridge(alpha=3.0))
    student = make_pipeline(TfidfVectorizer(min_df=2, max_features=500), Ridge())
    d = Distiller(teacher, student, X_unlabeled=dev_essays, random_state=0).fit(X, y)
    assert d.predict(dev_essays).shape == (len(dev_essays), 2)
    assert set(d.teacher_agreement_) == {"y0", "y1"}
    assert d.teacher_agreement_["y0"] > 0.5  # the student follows the teacher's ranking


def test_bad_input_messages(wassa):
    X, y = wassa["essay"], wassa["emotion"]
    with pytest.raises(ValueError, match="NaN|missing|empty"):
        Distiller(_teacher(), _student(), X_unlabeled=["fine", None]).fit(X, y)
    with pytest.raises(ValueError, match="empty"):
        Distiller(_teacher(), _student(), X_unlabeled=["fine", "   "]).fit(X, y)
    svc = make_pipeline(TfidfVectorizer(), LinearSVC())
    with pytest.raises(ValueError, match="predict_proba"):
        Distiller(svc, _student()).fit(X, y)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        Distiller(FrozenEstimator(_teacher().fit(X, y)), _student()).fit(X, y.where(y.index != 3))
    with pytest.raises(ValueError, match="teacher does not know"):
        Distiller(FrozenEstimator(_teacher().fit(X, y)), _student()).fit(
            X, y.replace({y.iloc[0]: "bewildered"})
        )
    with pytest.raises(ValueError, match="alpha"):
        Distiller(_teacher(), _student(), alpha=1.5).fit(X, y)


def test_unlabeled_texts_pool(shared_data, goemotions_home):
    train = load_wassa("train").data["essay"]
    pool = unlabeled_texts(["wassa", "newsemp"], exclude=train)
    assert list(pool.columns) == ["text", "source"]
    assert pool["text"].is_unique and not set(pool["text"]) & set(train.str.strip())
    # NewsEmp essays are the WASSA training essays: nothing left once they are excluded
    assert pool["source"].value_counts().to_dict() == {"wassa": 795}
    ed = unlabeled_texts(
        ["empatheticdialogues"],
        max_per_source=500,
        empathetic_dialogues=(
            shared_data / "empatheticdialogues" / "empatheticdialogues_empatheticintents.csv.gz"
        ),
    )
    assert len(ed) == 500 and ed["text"].str.len().min() > 0
    reddit = unlabeled_texts(["goemotions"], data_home=goemotions_home, max_per_source=300)
    assert len(reddit) == 300 and set(reddit["source"]) == {"goemotions"}
    # the domain-adaptation corpora of Hosseini & Caragea's Table 7
    chat = unlabeled_texts(
        ["dailydialog", "isear"], dailydialog=shared_data / "dailydialog", max_per_source=400
    )
    assert chat["source"].value_counts().to_dict() == {"dailydialog": 400, "isear": 400}
    assert not chat["text"].str.contains("No response", case=False).any()
    assert set(UNLABELED_SOURCES) == {
        "wassa",
        "newsemp",
        "empatheticdialogues",
        "goemotions",
        "dailydialog",
        "isear",
    }
    with pytest.raises(ValueError, match="empathetic_dialogues="):
        unlabeled_texts(["empatheticdialogues"])
    with pytest.raises(ValueError, match="dailydialog="):
        unlabeled_texts(["dailydialog"])
    with pytest.raises(ValueError, match="unknown source"):
        unlabeled_texts(["reddit"])
