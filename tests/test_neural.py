"""Fine-tuned transformer estimators (skempathy.neural) on real WASSA data.

Every fit uses the tiny random BERT of ``tiny_bert_path`` (2 layers, 32-d), a
short ``max_length`` and 1-4 epochs, so a fit takes about a second on CPU.
"""

import json
import os
import pickle
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate
from sklearn.pipeline import Pipeline

from skempathy.datasets import load_wassa
from skempathy.io import UnsafeFileError
from skempathy.neural import (
    FineTunedEmbedder,
    MultiTaskTransformer,
    TransformerClassifier,
    TransformerRegressor,
)
from skempathy import _engine as T

KW = dict(max_length=48, batch_size=8, max_epochs=2, learning_rate=5e-4, device="cpu")


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny models run fastest on one thread (and far faster on a shared, loaded CPU)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def wassa():
    """80 WASSA training essays (16 writers x 5 essays) with all targets."""
    b = load_wassa("train")
    frame = b.frame.iloc[:80].reset_index(drop=True)
    return frame


@pytest.fixture(scope="module")
def fitted_clf(tiny_bert_path, wassa):
    clf = TransformerClassifier(tiny_bert_path, random_state=0, **KW)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return clf.fit(wassa["essay"], wassa["emotion"])


# ------------------------------------------------------------------ contract
def test_init_is_lazy_and_clone_set_params_work(tmp_path):
    missing = str(tmp_path / "no_such_model")
    clf = TransformerClassifier(missing, max_epochs=3)  # nothing is loaded here
    assert clf.get_params()["model"] == missing
    twin = clone(clf).set_params(learning_rate=1e-4, max_epochs=1)
    assert twin.max_epochs == 1 and clf.max_epochs == 3
    assert not hasattr(twin, "model_")
    with pytest.raises(NotFittedError):
        twin.predict(["a text"])
    with pytest.raises(OSError):
        twin.fit(["a sad text", "an angry text"], ["sadness", "anger"])


def test_fit_keeps_params_and_predict_keeps_state(tiny_bert_path, fitted_clf, wassa):
    # what check_dont_overwrite_parameters / check_dict_unchanged verify, with real texts
    reference = TransformerClassifier(tiny_bert_path, random_state=0, **KW)
    assert fitted_clf.get_params() == reference.get_params()
    public = [k for k in vars(fitted_clf) if not k.startswith("_")]
    assert all(k.endswith("_") for k in public if k not in reference.get_params())
    before = {k: v for k, v in vars(fitted_clf).items() if not k.endswith("model_")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fitted_clf.predict(wassa["essay"][:3])
        fitted_clf.predict_proba(wassa["essay"][:3])
    after = {k: v for k, v in vars(fitted_clf).items() if not k.endswith("model_")}
    assert before.keys() == after.keys() and all(before[k] is after[k] for k in before)


def test_classifier_predicts_original_labels(fitted_clf, wassa):
    clf = fitted_clf
    assert list(clf.classes_) == sorted(wassa["emotion"].unique())
    essays = wassa["essay"].iloc[:10]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pred = clf.predict(essays)
        proba = clf.predict_proba(essays)
        scores = clf.decision_function(essays)
    assert pred.shape == (10,) and set(pred) <= set(clf.classes_)
    assert proba.shape == (10, len(clf.classes_))
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-6)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], pred)
    assert scores.shape == (10, len(clf.classes_))
    assert [h["epoch"] for h in clf.history_] == [1, 2]
    assert clf.history_[1]["train_loss"] < clf.history_[0]["train_loss"]
    assert clf.n_iter_ == 2 and clf.best_epoch_ == 2 and clf.interrupted_ is False


def test_binary_decision_function_is_1d(tiny_bert_path, wassa):
    y = np.where(wassa["empathy"] > 4, "high", "low")
    clf = TransformerClassifier(tiny_bert_path, random_state=0, **{**KW, "max_epochs": 1})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        clf.fit(wassa["essay"], y)
        scores = clf.decision_function(wassa["essay"][:6])
        pred = clf.predict(wassa["essay"][:6])
    assert scores.shape == (6,)
    np.testing.assert_array_equal(np.where(scores > 0, "low", "high"), pred)


def test_same_random_state_gives_identical_predictions(tiny_bert_path, wassa, fitted_clf):
    again = TransformerClassifier(tiny_bert_path, random_state=0, **KW)
    other = TransformerClassifier(tiny_bert_path, random_state=1, **KW)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        again.fit(wassa["essay"], wassa["emotion"])
        other.fit(wassa["essay"], wassa["emotion"])
        essays = wassa["essay"][:20]
        np.testing.assert_array_equal(again.predict_proba(essays), fitted_clf.predict_proba(essays))
        assert not np.allclose(other.predict_proba(essays), fitted_clf.predict_proba(essays))


def test_inference_order_and_batching_do_not_change_outputs(fitted_clf, wassa):
    essays = list(wassa["essay"][:12])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        full = fitted_clf.predict_proba(essays)
        reversed_ = fitted_clf.predict_proba(essays[::-1])[::-1]
        one = np.vstack([fitted_clf.predict_proba([e]) for e in essays[:3]])
    np.testing.assert_allclose(reversed_, full, atol=1e-5)
    np.testing.assert_allclose(one, full[:3], atol=1e-5)


# ------------------------------------------------------------------ pickling
def test_pickle_round_trip_in_subprocess_without_checkpoint(tiny_bert_path, wassa, tmp_path):
    model_dir = tmp_path / "checkpoint"
    shutil.copytree(tiny_bert_path, model_dir)
    reg = TransformerRegressor(str(model_dir), random_state=0, **KW)
    essays = list(wassa["essay"][:40])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        reg.fit(essays, wassa[["empathy", "distress"]].iloc[:40])
        expected = reg.predict(essays[:8])
    dump = tmp_path / "reg.pkl"
    dump.write_bytes(pickle.dumps(reg))
    shutil.rmtree(model_dir)  # the pickle must not need the original folder
    script = (
        "import json, pickle, sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "est = pickle.load(open(sys.argv[1], 'rb'))\n"
        "texts = json.load(open(sys.argv[2]))\n"
        "print(json.dumps({'pred': est.predict(texts).tolist(), 'device': est.device_,\n"
        "                  'optim': any('optim' in k for k in vars(est))}))\n"
    )
    (tmp_path / "texts.json").write_text(json.dumps(essays[:8]))
    out = subprocess.run(
        [sys.executable, "-c", script, str(dump), str(tmp_path / "texts.json")],
        capture_output=True,
        text=True,
        check=True,
        cwd=str(tmp_path),
        env={
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        },
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    np.testing.assert_array_equal(np.array(result["pred"]), expected)
    assert result["device"] == "cpu" and not result["optim"]


def test_pickle_holds_weights_not_optimizer(fitted_clf):
    data = pickle.dumps(fitted_clf)
    n_params = sum(p.numel() for p in fitted_clf.model_.parameters())
    # fp32 weights (+ tokenizer/config files, < 1.5 MB); AdamW state would double it.
    assert 4 * n_params < len(data) < 4 * n_params * 1.5 + 1.5e6
    assert b"torch.optim" not in data


def test_model_saved_from_cuda_loads_on_cpu(fitted_clf, wassa):
    state = fitted_clf.__getstate__()
    state["device_"] = "cuda:0"  # as written by a GPU machine
    loaded = TransformerClassifier.__new__(TransformerClassifier)
    loaded.__setstate__(state)
    import torch

    expected = "cuda:0" if torch.cuda.is_available() else "cpu"
    assert loaded.device_ == expected
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        np.testing.assert_allclose(
            loaded.predict_proba(wassa["essay"][:4]),
            fitted_clf.predict_proba(wassa["essay"][:4]),
            atol=1e-5,
        )


# ------------------------------------------------------------- multi-output
def test_regressor_1d_and_2d_targets(tiny_bert_path, wassa):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        one = TransformerRegressor(tiny_bert_path, random_state=0, **KW).fit(
            wassa["essay"], wassa["empathy"]
        )
        two = TransformerRegressor(tiny_bert_path, random_state=0, **KW).fit(
            wassa["essay"], wassa[["empathy", "distress"]]
        )
        p1, p2 = one.predict(wassa["essay"][:5]), two.predict(wassa["essay"][:5])
    assert p1.shape == (5,) and p2.shape == (5, 2)
    assert two.n_outputs_ == 2 and two.model_.head.heads["y"].out_features == 2
    np.testing.assert_allclose(two.y_mean_, wassa[["empathy", "distress"]].mean().to_numpy())
    # predictions come back in the 1..7 scale of the ratings, not standardised
    assert 1 < p2.mean() < 7


def test_multitask_with_side_inputs(tiny_bert_path, wassa):
    extra = ["gender", "income", "iri_empathic_concern", "iri_personal_distress"]
    X = wassa[["essay", *extra]]
    y = wassa[["emotion", "empathy", "distress"]]
    mt = MultiTaskTransformer(
        tiny_bert_path, extra_features=extra, loss_weights={"emotion": 0.5}, random_state=0, **KW
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        mt.fit(X, y)
        pred = mt.predict(X.iloc[:7])
        proba = mt.predict_proba(X.iloc[:7])
        score = mt.score(X, y)
    assert mt.tasks_ == {
        "emotion": "classification",
        "empathy": "regression",
        "distress": "regression",
    }
    assert list(pred.columns) == ["emotion", "empathy", "distress"] and len(pred) == 7
    assert set(pred["emotion"]) <= set(mt.classes_["emotion"])
    assert list(proba) == ["emotion"] and proba["emotion"].shape == (7, mt.classes_["emotion"].size)
    assert pred["empathy"].dtype == float and -1 <= score <= 1
    assert mt.model_.head.heads["emotion"].in_features == 32 + len(extra)
    # the side inputs are used: changing them changes the regression outputs
    X2 = X.iloc[:7].copy()
    X2["iri_empathic_concern"] = X2["iri_empathic_concern"] + 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert not np.allclose(mt.predict(X2)["empathy"], pred["empathy"])
    with pytest.raises(ValueError, match="lacks the column"):
        mt.predict(X.drop(columns=["income"]))
    with pytest.raises(ValueError, match="lacks the column"):
        clone(mt).set_params(tasks={"emotion": "classification", "distress": "regression"}).fit(
            X, y.drop(columns=["distress"])
        )


def test_multilabel_goemotions(tiny_bert_path, goemotions_home):
    from skempathy.datasets import fetch_goemotions

    bunch = fetch_goemotions(subset="dev", data_home=goemotions_home, mapping="ekman")
    texts, Y = list(bunch.data[:64]), np.asarray(bunch.target[:64])
    keep = Y.sum(0) > 0
    Y = Y[:, keep]
    clf = TransformerClassifier(tiny_bert_path, random_state=0, **KW).fit(texts, Y)
    pred, proba = clf.predict(texts[:9]), clf.predict_proba(texts[:9])
    assert clf.multilabel_ and pred.shape == (9, Y.shape[1]) and set(np.unique(pred)) <= {0, 1}
    assert proba.shape == (9, Y.shape[1]) and ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_array_equal(pred, (proba >= 0.5).astype(int))
    assert not np.allclose(proba.sum(1), 1)  # independent sigmoids, not a softmax


# --------------------------------------------------------------- training
def _recording_scorer(scores, snapshots, X_probe):
    calls = []

    def scorer(est, X_val, y_val):
        snapshots.append(est.predict_proba(X_probe))
        calls.append(len(calls))
        return scores[len(calls) - 1]

    return scorer


def test_early_stopping_restores_best_epoch(tiny_bert_path, wassa):
    snapshots = []
    probe = list(wassa["essay"][:6])
    scorer = _recording_scorer([0.1, 0.9, 0.3, 0.2, 0.95], snapshots, probe)
    clf = TransformerClassifier(
        tiny_bert_path,
        random_state=0,
        early_stopping=True,
        n_iter_no_change=2,
        scoring=scorer,
        **{**KW, "max_epochs": 5},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        clf.fit(wassa["essay"], wassa["emotion"])
        final = clf.predict_proba(probe)
    assert len(clf.history_) == 4  # stopped: epochs 3 and 4 did not improve on epoch 2
    assert clf.best_epoch_ == 2 and clf.best_score_ == 0.9
    assert [h["best"] for h in clf.history_] == [True, True, False, False]
    np.testing.assert_allclose(final, snapshots[1], atol=1e-6)
    assert not np.allclose(final, snapshots[3])


def test_early_stopping_default_metric_and_grouped_split(tiny_bert_path, wassa):
    seen = []

    def scorer(est, X_val, y_val):
        seen.append(list(X_val))
        return 0.0

    groups = wassa["response_id"]
    clf = TransformerRegressor(
        tiny_bert_path,
        random_state=0,
        early_stopping=True,
        validation_fraction=0.25,
        scoring=scorer,
        **{**KW, "max_epochs": 1},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        clf.fit(wassa["essay"], wassa["empathy"], groups=groups)
    writer = dict(zip(wassa["essay"], groups))
    held_out = {writer[e] for e in seen[0]}
    # whole writers are held out: every essay of a held-out writer is in the validation set
    assert len(seen[0]) == 5 * len(held_out) and len(held_out) == 4
    # default metric (Pearson r) is recorded in history_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        default = TransformerRegressor(
            tiny_bert_path, random_state=0, early_stopping=True, **{**KW, "max_epochs": 2}
        ).fit(wassa["essay"], wassa["empathy"], groups=groups)
    assert all(-1 <= h["valid_score"] <= 1 for h in default.history_)
    assert default.best_score_ == max(h["valid_score"] for h in default.history_)


def test_class_weight_and_sample_weight_change_the_loss(tiny_bert_path, wassa):
    kw = {**KW, "max_epochs": 1}
    losses = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for name, params in {
            "none": {},
            "balanced": {"class_weight": "balanced"},
            "dict": {"class_weight": {"sadness": 5.0}},
        }.items():
            clf = TransformerClassifier(tiny_bert_path, random_state=0, **params, **kw)
            losses[name] = clf.fit(wassa["essay"], wassa["emotion"]).history_[0]["train_loss"]
        sw = np.where(wassa["emotion"] == "sadness", 3.0, 1.0)
        clf = TransformerClassifier(tiny_bert_path, random_state=0, **kw)
        losses["sample_weight"] = clf.fit(
            wassa["essay"], wassa["emotion"], sample_weight=sw
        ).history_[0]["train_loss"]
    assert len({round(v, 6) for v in losses.values()}) == 4, losses
    with pytest.raises(ValueError):
        TransformerClassifier(tiny_bert_path, class_weight={"no_such_label": 2.0}, **kw).fit(
            wassa["essay"], wassa["emotion"]
        )


@pytest.fixture
def at_the_prompt(monkeypatch):
    """As in a notebook or the Python shell, where Ctrl-C may end a fit early."""
    from skempathy.utils import _interrupts

    monkeypatch.setattr(_interrupts, "_interactive_session", lambda: True)


def test_keyboard_interrupt_keeps_best_weights_then_warm_start(
    tiny_bert_path, wassa, at_the_prompt
):
    calls = []

    def scorer(est, X_val, y_val):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return 0.5

    clf = TransformerClassifier(
        tiny_bert_path,
        random_state=0,
        early_stopping=True,
        scoring=scorer,
        **{**KW, "max_epochs": 3},
    )
    with pytest.warns(UserWarning, match="interrupted"):
        clf.fit(wassa["essay"], wassa["emotion"])
    assert clf.interrupted_ and clf.best_epoch_ == 1 and len(clf.history_) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        before = clf.predict_proba(wassa["essay"][:4])
        clf.set_params(warm_start=True, early_stopping=False, max_epochs=1)
        clf.fit(wassa["essay"], wassa["emotion"])
        after = clf.predict_proba(wassa["essay"][:4])
    assert [h["epoch"] for h in clf.history_] == [1, 2] and not clf.interrupted_
    assert not np.allclose(before, after)  # training continued from the kept weights


def test_pipeline_gridsearch_and_grouped_cross_validate(tiny_bert_path, wassa):
    pipe = Pipeline([("clf", TransformerClassifier(tiny_bert_path, random_state=0, **KW))])
    grid = GridSearchCV(
        pipe,
        {"clf__learning_rate": [1e-4, 5e-4], "clf__max_epochs": [1, 2]},
        cv=GroupKFold(2),
        scoring="f1_macro",
        n_jobs=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        grid.fit(wassa["essay"], wassa["emotion"], groups=wassa["response_id"])
        assert set(grid.best_estimator_.predict(wassa["essay"][:3])) <= set(wassa["emotion"])
        cv = cross_validate(
            TransformerRegressor(tiny_bert_path, random_state=0, **{**KW, "max_epochs": 1}),
            wassa["essay"],
            wassa["empathy"],
            groups=wassa["response_id"],
            cv=GroupKFold(2),
            scoring="r2",
        )
    assert len(grid.cv_results_["params"]) == 4
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    assert len(cv["test_score"]) == 2


def test_parallel_cross_validation_matches_sequential(tiny_bert_path, wassa):
    """n_jobs-safe: worker processes (loky) fit the same models as a sequential run."""
    reg = TransformerRegressor(tiny_bert_path, random_state=0, **{**KW, "max_epochs": 1})
    kw = dict(groups=wassa["response_id"], cv=GroupKFold(2), scoring="r2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        serial = cross_validate(reg, wassa["essay"], wassa["empathy"], n_jobs=1, **kw)
        parallel = cross_validate(reg, wassa["essay"], wassa["empathy"], n_jobs=2, **kw)
    np.testing.assert_allclose(parallel["test_score"], serial["test_score"], rtol=1e-5)


def test_fine_tuned_embedder_features_in_column_transformer(tiny_bert_path, wassa):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    emb = FineTunedEmbedder(tiny_bert_path, random_state=0, **KW)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        Z = emb.fit_transform(wassa["essay"], wassa["empathy"])
        untuned = (
            clone(emb)
            .set_params(max_epochs=1, learning_rate=1e-12)
            .fit(wassa["essay"], wassa["empathy"])
            .transform(wassa["essay"])
        )
        pipe = Pipeline(
            [
                (
                    "features",
                    ColumnTransformer(
                        [
                            ("text", clone(emb), "essay"),
                            ("demo", StandardScaler(), ["gender", "income", "age"]),
                        ]
                    ),
                ),
                ("svr", SVR()),
            ]
        )
        pipe.fit(wassa[["essay", "gender", "income", "age"]], wassa["empathy"])
        pred = pipe.predict(wassa[["essay", "gender", "income", "age"]].iloc[:5])
    assert Z.shape == (80, 32) and Z.dtype == np.float32
    assert not np.allclose(Z, untuned, atol=1e-3)  # fine-tuning changed the encoder
    assert list(emb.get_feature_names_out()[:2]) == ["finetunedembedder0", "finetunedembedder1"]
    names = pipe[0].get_feature_names_out()
    assert len(names) == 35 and names[0] == "text__finetunedembedder0"
    assert pred.shape == (5,)


def test_one_fine_tuned_embedder_per_target_concatenated(tiny_bert_path, wassa):
    """Team Phoenix's features: an encoder fine-tuned on empathy and one on distress, side by
    side in a FeatureUnion that receives both targets; each equals an embedder fitted on its
    own column."""
    from sklearn.pipeline import make_union

    Y = wassa[["empathy", "distress"]]
    per_target = [
        FineTunedEmbedder(tiny_bert_path, y_column=c, random_state=0, **KW) for c in Y.columns
    ]
    union = make_union(*per_target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        Z = union.fit_transform(wassa["essay"], Y)
        alone = (
            FineTunedEmbedder(tiny_bert_path, random_state=0, **KW)
            .fit(wassa["essay"], wassa["distress"])
            .transform(wassa["essay"])
        )
        by_position = (
            clone(per_target[1])
            .set_params(y_column=1)
            .fit(wassa["essay"], Y.to_numpy())
            .transform(wassa["essay"])
        )
    assert Z.shape == (80, 64)
    np.testing.assert_allclose(Z[:, 32:], alone, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(by_position, alone, rtol=1e-4, atol=1e-5)
    assert not np.allclose(Z[:, :32], Z[:, 32:], atol=1e-3)
    assert union.get_feature_names_out()[32].startswith("finetunedembedder-2__")
    emb = FineTunedEmbedder(tiny_bert_path, y_column="anger", **{**KW, "max_epochs": 1})
    with pytest.raises(ValueError, match="not a column of y"):
        emb.fit(wassa["essay"], Y)
    with pytest.raises(ValueError, match="needs a 2-D y"):
        emb.set_params(y_column=0).fit(wassa["essay"], wassa["empathy"])
    with pytest.raises(ValueError, match="column position"):
        emb.set_params(y_column=2).fit(wassa["essay"], Y.to_numpy())


# ------------------------------------------------------------------ bad input
def test_bad_input_messages(tiny_bert_path, fitted_clf, wassa):
    kw = {**KW, "max_epochs": 1}
    clf = TransformerClassifier(tiny_bert_path, **kw)
    with pytest.raises(ValueError, match="empty"):
        clf.fit(["sad", "   ", "angry"], ["a", "b", "a"])
    with pytest.raises(ValueError, match="missing"):
        clf.fit(["sad", np.nan, "angry"], ["a", "b", "a"])
    with pytest.raises(ValueError, match="only one class"):
        clf.fit(["sad", "sadder"], ["sadness", "sadness"])
    with pytest.raises(ValueError, match="same length"):
        clf.fit(["sad", "angry", "scared"], ["sadness", "anger"])
    with pytest.raises(TypeError, match="text"):
        clf.fit(np.zeros((3, 1)), ["a", "b", "a"])
    with pytest.raises(ValueError, match="Unknown label type"):
        clf.fit(["sad", "angry", "scared"], [0.5, 1.5, 2.25])
    with pytest.raises(ValueError, match="not seen in fit"):
        fitted_clf.score(wassa["essay"][:2], ["sadness", "grief"])
    with pytest.raises(ValueError, match="sample_weight"):
        clf.fit(["sad", "angry"], ["a", "b"], sample_weight=[-1.0, 1.0])
    with pytest.raises(ValueError, match="max_epochs"):
        TransformerClassifier(tiny_bert_path, max_epochs=0).fit(["a", "b"], ["x", "y"])
    with pytest.raises(ValueError, match="y"):
        TransformerRegressor(tiny_bert_path, **kw).fit(["a", "b"], [1.0, np.nan])


def test_too_long_texts_truncated_with_one_warning(tiny_bert_path, wassa):
    essays = wassa["essay"][:20]
    clf = TransformerRegressor(
        tiny_bert_path, random_state=0, **{**KW, "max_length": 16, "max_epochs": 1}
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(essays, wassa["empathy"][:20])
    trunc = [w for w in caught if "truncated" in str(w.message)]
    assert len(trunc) == 1 and "20 of 20 texts" in str(trunc[0].message)
    with pytest.warns(UserWarning, match="max_length=16"):
        clf.predict(essays[:3])


# ------------------------------------------------------- private training API
def test_length_grouped_batches_and_dynamic_padding(tiny_bert_path, wassa):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_bert_path)
    ids, n_trunc = T.tokenize(tok, list(wassa["essay"]), 512)
    lengths = np.array([len(r) for r in ids])
    rng = np.random.RandomState(0)
    train = T.length_grouped_batches(lengths, 8, shuffle=True, rng=rng, mega_batch=4)
    infer = T.length_grouped_batches(lengths, 8)
    for batches in (train, infer):
        np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(len(ids)))
        assert max(len(b) for b in batches) == 8
    padded = sum(lengths[b].max() * len(b) for b in infer)
    assert padded < lengths.max() * len(ids) * 0.8  # far less padding than max_length
    batch = T.collate([ids[i] for i in infer[-1]], T.pad_token_id(tok))
    assert batch["input_ids"].shape[1] == lengths[infer[-1]].max()
    np.testing.assert_array_equal(batch["attention_mask"].sum(1).numpy(), lengths[infer[-1]])
    assert n_trunc == 0


def test_train_loop_gradient_accumulation_and_history(tiny_bert_path):
    import torch
    from transformers import AutoModel

    def run(accum):
        with T.seeded(0):
            encoder = AutoModel.from_pretrained(tiny_bert_path)
            model = T.make_transformer_module(encoder, {"y": 1})
            x = torch.randint(100, 1000, (16, 10))
            batches = [
                {
                    "input_ids": x[i : i + 4],
                    "attention_mask": torch.ones(4, 10, dtype=torch.long),
                    "y": torch.randn(4, 1),
                }
                for i in range(0, 16, 4)
            ]

            def loss_fn(m, b):
                return torch.nn.functional.mse_loss(
                    m(b["input_ids"], b["attention_mask"])["y"], b["y"]
                )

            out = T.train_loop(
                model,
                lambda epoch: batches,
                loss_fn,
                max_epochs=2,
                learning_rate=1e-3,
                gradient_accumulation_steps=accum,
            )
            return out, T.cpu_state_dict(model)

    (h1, s1), (_, s2) = run(1), run(2)
    assert [r["n_samples"] for r in h1["history"]] == [16, 16]
    assert h1["best_epoch"] == 2 and h1["best_score"] is None and not h1["interrupted"]
    assert not torch.allclose(s1["head.heads.y.weight"], s2["head.heads.y.weight"])


def _linear_problem():
    import torch

    with T.seeded(0):
        model = torch.nn.Linear(5, 1)
        x, y = torch.randn(12, 5), torch.randn(12, 1)

    def loss_fn(m, b):
        return torch.nn.functional.mse_loss(m(b["x"]), b["y"])

    def chunks(*sizes):
        edges = np.cumsum((0,) + sizes)
        return [{"x": x[a:b], "y": y[a:b]} for a, b in zip(edges[:-1], edges[1:])]

    return model, loss_fn, chunks


def test_cpu_precision_only_bf16_autocasts():
    """On CPU "auto", "fp16" and "fp32" train the same fp32 weights; "bf16" autocasts."""
    import contextlib

    import torch

    for precision in ("auto", "fp16", "fp32"):
        context, scaler = T.autocast_for("cpu", precision)
        assert isinstance(context, contextlib.nullcontext) and scaler is False
    context, scaler = T.autocast_for("cpu", "bf16")
    assert isinstance(context, torch.autocast) and context.fast_dtype == torch.bfloat16
    assert scaler is False
    context, scaler = T.autocast_for("cuda", "fp32")  # fp32 means no autocast anywhere
    assert isinstance(context, contextlib.nullcontext) and scaler is False
    weights = {}
    for precision in ("fp32", "auto", "fp16", "bf16"):
        model, loss_fn, chunks = _linear_problem()
        with warnings.catch_warnings():  # the slow-bf16 warning of CPUs without bf16 units
            warnings.simplefilter("ignore", UserWarning)
            T.train_loop(
                model, lambda e: chunks(4, 4, 4), loss_fn, max_epochs=1, precision=precision
            )
        weights[precision] = model.weight.detach().numpy().copy()
        assert model.weight.dtype == torch.float32  # master weights stay fp32
    np.testing.assert_array_equal(weights["fp32"], weights["auto"])
    np.testing.assert_array_equal(weights["fp32"], weights["fp16"])
    assert not np.array_equal(weights["fp32"], weights["bf16"])
    np.testing.assert_allclose(weights["bf16"], weights["fp32"], atol=1e-2)


def test_bf16_on_a_cpu_without_bf16_units_warns(monkeypatch):
    """bf16 is honoured on any CPU, but where torch emulates it the user is told it is slow."""
    import torch

    from skempathy._engine import _precision
    from skempathy.neural import cpu_has_fast_bf16

    assert isinstance(cpu_has_fast_bf16(), bool)
    monkeypatch.setattr(_precision, "cpu_has_fast_bf16", lambda: False)
    with pytest.warns(UserWarning, match="without bf16 matrix units.*precision='auto'"):
        context, _ = T.autocast_for("cpu", "bf16")
    assert isinstance(context, torch.autocast)
    monkeypatch.setattr(_precision, "cpu_has_fast_bf16", lambda: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        T.autocast_for("cpu", "bf16")
        T.autocast_for("cpu", "auto")


def test_bf16_fine_tuning_on_cpu_is_close_to_fp32(tiny_bert_path, wassa, fitted_clf):
    """precision="bf16" changes the numbers a little, not the model."""
    bf16 = TransformerClassifier(tiny_bert_path, random_state=0, precision="bf16", **KW)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        bf16.fit(wassa["essay"], wassa["emotion"])
        essays = wassa["essay"][:20]
        proba, reference = bf16.predict_proba(essays), fitted_clf.predict_proba(essays)
    assert proba.dtype == reference.dtype and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-5)
    assert not np.array_equal(proba, reference)
    np.testing.assert_allclose(proba, reference, atol=0.05)
    assert np.mean(proba.argmax(1) == reference.argmax(1)) >= 0.8


def test_predict_precision_serves_a_converted_copy(tiny_bert_path, wassa, fitted_clf):
    """predict_precision: bf16/int8 copies answer close to fp32; the fitted weights stay."""
    import torch

    from skempathy.neural._base import _INFERENCE_COPIES

    clf = pickle.loads(pickle.dumps(fitted_clf))
    essays = wassa["essay"][:30]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        reference = clf.predict_proba(essays)
        clf.set_params(predict_precision="fp32")
        np.testing.assert_array_equal(clf.predict_proba(essays), reference)
        for precision, atol in (("bf16", 0.02), ("int8", 0.05)):
            clf.set_params(predict_precision=precision)
            state = dict(clf.__dict__)
            proba = clf.predict_proba(essays)
            assert clf.__dict__.keys() == state.keys()  # predict keeps the estimator's state
            assert not np.array_equal(proba, reference)
            np.testing.assert_allclose(proba, reference, atol=atol)
            assert np.mean(proba.argmax(1) == reference.argmax(1)) >= 0.9
        assert set(_INFERENCE_COPIES[clf.model_]) == {"bf16", "int8"}
        assert all(p.dtype == torch.float32 for p in clf.model_.parameters())
        # the copies are not pickled; the unpickled estimator makes its own
        again = pickle.loads(pickle.dumps(clf))
        assert len(pickle.dumps(clf)) < 1.2 * len(pickle.dumps(fitted_clf))
        np.testing.assert_array_equal(again.predict_proba(essays), proba)
        # fit (warm start changes model_ in place) drops the stale copies
        clf.set_params(warm_start=True, max_epochs=1).fit(wassa["essay"], wassa["emotion"])
        assert clf.model_ not in _INFERENCE_COPIES
        assert not np.array_equal(clf.predict_proba(essays), proba)
        with pytest.raises(ValueError, match="predict_precision"):
            clf.set_params(predict_precision="fp8").fit(wassa["essay"], wassa["emotion"])


def test_outputs_of_the_same_inputs_are_computed_once_in_a_scope(tiny_bert_path, wassa):
    """Inside reuse_outputs (a vote, a distiller), predict then predict_proba on the same rows
    run the encoder once; other rows, other side inputs, changed weights or another
    predict_precision run it again. Outside a scope every call runs it."""
    import torch

    from skempathy.utils._reuse import reuse_outputs

    extra = ["iri_empathic_concern", "income"]
    X, y = wassa[["essay", *extra]], wassa[["emotion", "empathy", "distress"]]
    mt = MultiTaskTransformer(tiny_bert_path, extra_features=extra, random_state=0, **KW)
    calls = []

    def passes(method, rows, **kw):
        before = len(calls)
        out = getattr(mt, method)(rows, **kw)
        return out, len(calls) - before

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        mt.fit(X, y)
        mt.model_.register_forward_hook(lambda module, args, out: calls.append(len(args[0])))
        pred, n = passes("predict", X.iloc[:20])
        assert n > 0 and passes("predict_proba", X.iloc[:20])[1] == n  # no scope: runs again
        state = dict(mt.__dict__)
        with reuse_outputs():
            assert passes("predict", X.iloc[:20])[1] == n
            proba, again = passes("predict_proba", X.iloc[:20])
            assert again == 0  # answered from the pass of predict
            pd.testing.assert_frame_equal(mt.predict(X.iloc[:20]), pred)
            proba["emotion"][:] = 0  # the caller owns what it gets
            assert mt.predict_proba(X.iloc[:20])["emotion"].sum() > 0
            unshifted, n = passes("predict", X.iloc[:19])
            assert n > 0
            X2 = X.iloc[:19].copy()
            X2["income"] = X2["income"] + 1
            assert passes("predict", X2)[1] == n
            with torch.no_grad():
                mt.model_.head.heads["empathy"].bias.add_(1.0)
            shifted, again = passes("predict", X.iloc[:19])
            assert again == n and (shifted["empathy"] > unshifted["empathy"]).all()
            mt.set_params(predict_precision="bf16")
            assert passes("predict", X.iloc[:19])[1] == n
        assert mt.__dict__.keys() == state.keys()  # predict keeps the estimator's state
        assert passes("predict", X.iloc[:19])[1] == n  # the scope is closed


def test_train_loop_accumulation_equals_the_larger_batch():
    """accum=2 over batches of 4, 4, 4 takes the same steps as batches of 8 and 4: the
    last, incomplete group is averaged over its own batch count, not over ``accum``."""
    import copy

    model, loss_fn, chunks = _linear_problem()
    twin = copy.deepcopy(model)
    kw = dict(max_epochs=2, learning_rate=0.1, warmup_ratio=0.0)
    T.train_loop(model, lambda e: chunks(4, 4, 4), loss_fn, gradient_accumulation_steps=2, **kw)
    T.train_loop(twin, lambda e: chunks(8, 4), loss_fn, **kw)
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_train_loop_interrupt_without_early_stopping_keeps_last_full_epoch(at_the_prompt):
    model, loss_fn, chunks = _linear_problem()
    seen, snapshots = [], []

    def batches(epoch):
        snapshots.append(T.cpu_state_dict(model))  # weights at the start of each epoch
        return chunks(4, 4, 4)

    def loss_with_interrupt(m, b):
        seen.append(1)
        if len(seen) == 5:  # second batch of epoch 2
            raise KeyboardInterrupt
        return loss_fn(m, b)

    with pytest.warns(UserWarning, match=r"best weights so far \(epoch 1\)"):
        out = T.train_loop(model, batches, loss_with_interrupt, max_epochs=3, learning_rate=0.1)
    assert out["interrupted"] and out["best_epoch"] == 1 and out["best_score"] is None
    for name, value in T.cpu_state_dict(model).items():
        np.testing.assert_array_equal(value.numpy(), snapshots[1][name].numpy())


def test_an_interrupt_ends_the_run_outside_the_prompt(monkeypatch):
    """In a script, under the CLI, and for SIGTERM everywhere, an interrupt is not swallowed."""
    from skempathy.utils import _interrupts

    model, loss_fn, chunks = _linear_problem()

    def interrupted(kind):
        def loss(m, b):
            raise kind()

        return loss

    with pytest.raises(KeyboardInterrupt):  # pytest runs no prompt
        T.train_loop(
            model,
            lambda e: chunks(4, 4),
            interrupted(KeyboardInterrupt),
            max_epochs=2,
            learning_rate=0.1,
        )
    monkeypatch.setattr(_interrupts, "_interactive_session", lambda: True)
    with pytest.raises(_interrupts.Terminated):
        T.train_loop(
            model,
            lambda e: chunks(4, 4),
            interrupted(_interrupts.Terminated),
            max_epochs=2,
            learning_rate=0.1,
        )
    with _interrupts.interrupts_end_runs(), pytest.raises(KeyboardInterrupt):
        T.train_loop(
            model,
            lambda e: chunks(4, 4),
            interrupted(KeyboardInterrupt),
            max_epochs=2,
            learning_rate=0.1,
        )


def test_an_interrupted_member_does_not_count_as_fitted(tiny_bert_path, wassa, at_the_prompt):
    """At the prompt a fit cut short keeps its weights, but an ensemble of it is not fitted."""
    from sklearn.exceptions import NotFittedError as NotFitted
    from sklearn.utils.validation import check_is_fitted

    from skempathy.ensemble import SeedEnsemble

    def scorer(est, X_val, y_val):
        raise KeyboardInterrupt

    member = TransformerClassifier(
        tiny_bert_path, early_stopping=True, scoring=scorer, **{**KW, "max_epochs": 2}
    )
    ensemble = SeedEnsemble(member, n_estimators=2, random_state=0)
    with (
        pytest.warns(UserWarning, match="interrupted"),
        pytest.raises(KeyboardInterrupt, match="was interrupted"),
    ):
        ensemble.fit(wassa["essay"], wassa["emotion"])
    with pytest.raises(NotFitted):
        check_is_fitted(ensemble)


def test_train_loop_resumed_run_keeps_the_earlier_best():
    """warm_start + early stopping: epochs that do not beat the earlier best score are dropped."""
    model, loss_fn, chunks = _linear_problem()
    before = T.cpu_state_dict(model)
    out = T.train_loop(
        model,
        lambda e: chunks(4, 4, 4),
        loss_fn,
        max_epochs=2,
        learning_rate=0.1,
        eval_fn=lambda m: 0.0,
        start_epoch=3,
        initial_best=(0.9, 3),
    )
    assert out["best_epoch"] == 3 and out["best_score"] == 0.9
    assert [h["epoch"] for h in out["history"]] == [4, 5]
    for name, value in T.cpu_state_dict(model).items():
        np.testing.assert_array_equal(value.numpy(), before[name].numpy())
    better = T.train_loop(
        model,
        lambda e: chunks(4, 4, 4),
        loss_fn,
        max_epochs=1,
        learning_rate=0.1,
        eval_fn=lambda m: 1.0,
        start_epoch=5,
        initial_best=(0.9, 3),
    )
    assert better["best_epoch"] == 6 and better["best_score"] == 1.0


# ------------------------------------------------------------- real encoder
@pytest.mark.slow
def test_minilm_fine_tuning_learns_empathy_and_distress():
    """The embedded MiniLM, 300 WASSA essays, 2 epochs: dev Pearson well above chance.

    docs/results.md records 0.32 average dev Pearson for this setting (~4 min on CPU).
    """
    train = load_wassa("train").frame.iloc[:300]
    dev = load_wassa("dev").frame
    reg = TransformerRegressor(
        max_length=256, max_epochs=2, learning_rate=1e-4, device="cpu", random_state=0
    )
    reg.fit(train["essay"], train[["empathy", "distress"]])
    pred = reg.predict(dev["essay"])
    r = [np.corrcoef(pred[:, j], dev[col])[0, 1] for j, col in enumerate(["empathy", "distress"])]
    assert min(r) > 0.2, r


# ------------------------------------------------------------ Hugging Face folders


@pytest.mark.parametrize("kind", ["classifier", "multitask"])
def test_save_pretrained_folder_round_trip(kind, tiny_bert_path, tmp_path):
    import transformers

    from skempathy.neural import MultiTaskTransformer, TransformerClassifier

    frame = load_wassa("train").frame.iloc[:60]
    if kind == "classifier":
        est = TransformerClassifier(tiny_bert_path, max_epochs=1, max_length=48, random_state=0)
        X, y = frame["essay"], frame["emotion"]
    else:
        est = MultiTaskTransformer(
            tiny_bert_path,
            max_epochs=1,
            max_length=48,
            random_state=0,
            extra_features=["age", "iri_empathic_concern"],
        )
        X, y = frame[["essay", "age", "iri_empathic_concern"]], frame[["emotion", "empathy"]]
    est.fit(X, y)
    folder = tmp_path / "model"
    est.save_pretrained(folder, metrics={"macro_f1": 0.5}, training_data=["WASSA 2021"])
    names = {p.name for p in folder.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "skempathy_heads.safetensors",
        "skempathy.json",
        "README.md",
        "tokenizer_config.json",
    } <= names
    assert not any(name.endswith((".pkl", ".joblib", ".bin")) for name in names)
    # the encoder is a plain transformers checkpoint with the fine-tuned weights
    encoder = transformers.AutoModel.from_pretrained(folder)
    for name, tensor in encoder.state_dict().items():
        np.testing.assert_array_equal(
            tensor.numpy(), est.model_.encoder.state_dict()[name].cpu().numpy()
        )
    card = (folder / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: skempathy\npipeline_tag: text-classification")
    assert "| macro_f1 | 0.5000 |" in card and "- WASSA 2021" in card
    assert json.loads((folder / "skempathy.json").read_text())["class"] == type(est).__name__
    loaded = type(est).from_pretrained(folder)
    if kind == "classifier":
        np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
        np.testing.assert_allclose(loaded.predict_proba(X), est.predict_proba(X), atol=1e-6)
    else:
        pd.testing.assert_frame_equal(loaded.predict(X), est.predict(X))
    with pytest.raises(TypeError, match=f"holds a {type(est).__name__}"):
        (MultiTaskTransformer if kind == "classifier" else TransformerClassifier).from_pretrained(
            folder
        )
    with pytest.raises(FileNotFoundError, match="not a skempathy folder"):
        TransformerClassifier.from_pretrained(tmp_path)
    # a crafted copy whose weights link elsewhere is refused before anything is read
    crafted = tmp_path / "crafted"
    shutil.copytree(folder, crafted)
    (crafted / "model.safetensors").unlink()
    (crafted / "model.safetensors").symlink_to(folder / "model.safetensors")
    with pytest.raises(UnsafeFileError, match="is a link"):
        type(est).from_pretrained(crafted)


def test_train_loop_callbacks_see_every_batch_and_can_change_it():
    """The hooks of the one training loop: a callback counts batches, rewrites them (the loss
    reads what it set) and adds to each epoch's record."""
    import torch

    from skempathy._engine import Callback, train_loop

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    data = [{"x": torch.randn(4, 3), "y": torch.randn(4, 1)} for _ in range(5)]

    class Scale(Callback):
        def on_train_begin(self, n_batches):
            self.n_batches, self.steps = n_batches, []

        def on_batch_begin(self, batch, step):
            self.steps.append(step)
            return {**batch, "scale": 0.0 if step < 5 else 1.0}

        def on_epoch_end(self, record):
            record["last_step"] = self.steps[-1]

    def loss(model, batch):
        return batch["scale"] * ((model(batch["x"]) - batch["y"]) ** 2).mean()

    before = model.weight.detach().clone()
    hook = Scale()
    result = train_loop(
        model, lambda epoch: data, loss, max_epochs=2, learning_rate=0.1, callbacks=[hook]
    )
    assert hook.n_batches == 10 and hook.steps == list(range(10))
    assert [r["last_step"] for r in result["history"]] == [4, 9]
    # the first epoch's loss was scaled to 0 by the callback, the second's was not
    assert result["history"][0]["train_loss"] == 0.0 < result["history"][1]["train_loss"]
    assert not torch.equal(before, model.weight.detach())


def test_a_pickle_without_a_newer_parameter_loads_with_its_default(tiny_bert_path, wassa):
    clf = TransformerClassifier(tiny_bert_path, random_state=0, **{**KW, "max_epochs": 1})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        clf.fit(wassa["essay"], wassa["emotion"])
    state = clf.__getstate__()
    del state["text_column"]  # written before the estimator had text_column
    old = TransformerClassifier.__new__(TransformerClassifier)
    old.__setstate__(state)
    assert old.get_params()["text_column"] is None
    np.testing.assert_array_equal(old.predict(wassa["essay"][:5]), clf.predict(wassa["essay"][:5]))
    assert clone(old).get_params() == clf.get_params()
