"""The published methods' neural estimators on real shared data with tiny in-process models.

Each test proves one mechanism of the issue's acceptance list: the MLM
checkpoint loads into TransformerClassifier, constrained decoding only yields
known labels, the annealing schedule reaches lambda = 1, the token-attention
model uses side inputs / auxiliary heads and stops early on validation loss.
Sizes are minimal (a few dozen essays, 24 tokens): the machines have 2 cores.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skempathy.datasets import load_newsemp, load_wassa
from skempathy.neural import (
    DistilledMultiTaskClassifier,
    MaskedLMAdapter,
    Seq2SeqLabelClassifier,
    TokenAttentionClassifier,
    TransformerClassifier,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*truncated:UserWarning")


@pytest.fixture(scope="module")
def wassa():
    X, Y = load_wassa("train", target=["emotion", "empathy", "distress"], return_X_y=True)
    return X, Y


@pytest.fixture(scope="module")
def tiny_t5_path(tmp_path_factory):
    """A 2-layer random T5 (width 32) with the MiniLM WordPiece tokenizer."""
    import torch
    from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration

    from skempathy.base import resolve_model

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(resolve_model("minilm"))
    config = T5Config(
        vocab_size=tok.vocab_size,
        d_model=32,
        d_ff=64,
        d_kv=16,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=2,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.sep_token_id,
        decoder_start_token_id=tok.pad_token_id,
    )
    path = tmp_path_factory.mktemp("tiny_t5")
    T5ForConditionalGeneration(config).save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


# ----------------------------------------------------------------- MaskedLMAdapter
def test_mlm_checkpoint_adapts_and_loads_into_transformer_classifier(
    wassa, tiny_bert_path, tmp_path
):
    import torch
    from transformers import AutoModel

    X, Y = wassa
    texts = X["essay"].tolist()[:32]
    adapter = MaskedLMAdapter(
        model=tiny_bert_path,
        output_dir=tmp_path / "adapted",
        max_length=24,
        batch_size=8,
        learning_rate=2e-3,
        max_epochs=2,
        random_state=0,
        device="cpu",
    )
    path = adapter.fit(texts).checkpoint_path_
    assert path == str(tmp_path / "adapted") and len(adapter.history_) == 2
    # the encoder weights changed, and the masked-LM loss on the domain text went down
    before = AutoModel.from_pretrained(tiny_bert_path).embeddings.word_embeddings.weight
    after = AutoModel.from_pretrained(path).embeddings.word_embeddings.weight
    assert not torch.allclose(before, after)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    assert adapter.masked_lm_loss(texts) < adapter.masked_lm_loss(texts, model=tiny_bert_path)
    torch.testing.assert_close(torch.rand(3), expected)  # the caller's RNG is untouched
    # the checkpoint is a model= for the fine-tuned estimators
    clf = TransformerClassifier(
        model=path, max_epochs=1, max_length=24, batch_size=8, random_state=0, device="cpu"
    )
    clf.fit(texts, Y["emotion"].iloc[:32])
    assert set(clf.predict(X["essay"].iloc[32:40])) <= set(clf.classes_)
    emb = adapter.transform(texts[:3])
    assert emb.shape == (3, 32) and np.all(np.isfinite(emb))
    assert pickle.loads(pickle.dumps(adapter)).transform(texts[:3]) == pytest.approx(emb)


def test_mlm_errors(tiny_bert_path):
    adapter = MaskedLMAdapter(model=tiny_bert_path, mlm_probability=0.0)
    with pytest.raises(ValueError, match="mlm_probability"):
        adapter.fit(["a text"])
    with pytest.raises(ValueError, match="missing"):
        MaskedLMAdapter(model=tiny_bert_path).fit(["a text", np.nan])
    with pytest.raises(Exception, match="not fitted"):
        MaskedLMAdapter(model=tiny_bert_path).transform(["a text"])


# ----------------------------------------------------------- Seq2SeqLabelClassifier
def test_constrained_decoding_only_yields_known_labels(wassa, tiny_t5_path):
    X, Y = wassa
    texts, labels = X["essay"].tolist(), Y["emotion"].to_numpy()
    clf = Seq2SeqLabelClassifier(
        model=tiny_t5_path,
        prefix="emotion: ",
        max_length=24,
        batch_size=8,
        learning_rate=3e-3,
        max_epochs=2,
        random_state=0,
        device="cpu",
    )
    clf.fit(texts[:48], labels[:48])
    assert clf.history_[-1]["train_loss"] < clf.history_[0]["train_loss"]
    assert clf.label_texts_ == list(clf.classes_)
    generated = clf.generate(texts[48:64])
    pred = clf.predict(texts[48:64])
    proba = clf.predict_proba(texts[48:64])
    # an unconstrained decoder of this barely trained model writes strings that are
    # not labels; constrained decoding never does
    assert any(g not in clf.classes_ for g in generated)
    assert set(pred) <= set(clf.classes_)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-6)
    np.testing.assert_array_equal(pred, clf.classes_[proba.argmax(1)])
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(
        restored.predict_proba(texts[48:56]), proba[:8], rtol=1e-4, atol=1e-6
    )


def test_seq2seq_label_texts_and_errors(tiny_t5_path):
    newsemp = load_newsemp().frame.iloc[:24]
    clf = Seq2SeqLabelClassifier(
        model=tiny_t5_path,
        label_texts={0: "low empathy", 1: "high empathy"},
        max_length=16,
        batch_size=8,
        max_epochs=1,
        random_state=0,
        device="cpu",
    )
    clf.fit(newsemp["essay"], newsemp["empathy_bin"])
    assert clf.label_texts_ == ["low empathy", "high empathy"]
    assert set(clf.predict(newsemp["essay"].iloc[:5])) <= {0, 1}
    with pytest.raises(ValueError, match="distinct"):
        clone(clf).set_params(label_texts={0: "same", 1: "same"}).fit(
            newsemp["essay"], newsemp["empathy_bin"]
        )
    with pytest.raises(ValueError, match="one class"):
        clone(clf).fit(["a", "b"], [1, 1])
    with pytest.raises(ValueError, match="Unknown label type"):
        clone(clf).fit(["a", "b"], [0.5, 1.5])


# ---------------------------------------------------------- TokenAttentionClassifier
def test_token_attention_multi_input_multi_task_and_early_stopping(wassa, tiny_bert_path):
    X, Y = wassa
    cols = ["essay", "age", "income", "iri_empathic_concern"]
    Xs, Ys = X[cols].iloc[:60], Y.iloc[:60]
    clf = TokenAttentionClassifier(
        model=tiny_bert_path,
        text_column="essay",
        extra_features=cols[1:],
        max_length=24,
        max_epochs=40,
        learning_rate=5e-3,
        n_iter_no_change=1,
        random_state=0,
        device="cpu",
    )
    clf.fit(Xs, Ys)  # emotion (main) + empathy, distress (auxiliary regression heads)
    assert clf.n_extra_features_ == 3  # the side inputs; n_features_in_ counts X's columns
    assert clf.n_features_in_ == Xs.shape[1] and list(clf.feature_names_in_) == list(Xs.columns)
    assert [t["name"] for t in clf.aux_tasks_] == ["empathy", "distress"]
    assert set(clf.model_.head.heads) == {"main", "empathy", "distress"}
    assert clf.model_.head.heads["main"].in_features == 32 + 3
    with pytest.warns(FutureWarning, match="use model_"):
        assert clf.module_ is clf.model_
    # early stopping on the validation loss: stopped well before max_epochs, kept the best
    assert clf.n_iter_ < 40
    scores = [h["valid_score"] for h in clf.history_]
    assert clf.history_[clf.best_epoch_ - 1]["valid_score"] == max(scores) and max(scores) < 0
    pred = clf.predict(X[cols].iloc[60:70])
    assert set(pred) <= set(clf.classes_) and len(pred) == 10
    aux = clf.predict_aux(X[cols].iloc[60:70])
    assert aux["empathy"].shape == (10,) and 0 < aux["empathy"].mean() < 8  # original scale
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(
        restored.predict_proba(X[cols].iloc[60:70]),
        clf.predict_proba(X[cols].iloc[60:70]),
        rtol=1e-5,
    )
    # single-task, text-only
    stl = TokenAttentionClassifier(
        model=tiny_bert_path,
        max_length=24,
        max_epochs=2,
        early_stopping=False,
        random_state=0,
        device="cpu",
    )
    stl.fit(Xs["essay"], Ys["emotion"])
    assert stl.n_extra_features_ == 0 and stl.aux_tasks_ == [] and stl.n_iter_ == 2
    assert stl.n_features_in_ == 1 and not hasattr(stl, "feature_names_in_")
    assert stl._encoder is None  # same texts, model and max_length: states came from the cache


def test_token_attention_errors(wassa, tiny_bert_path):
    X, Y = wassa
    clf = TokenAttentionClassifier(
        model=tiny_bert_path,
        extra_features=["age"],
        text_column="essay",
        max_epochs=1,
        device="cpu",
    )
    with pytest.raises(ValueError, match="lacks the column"):
        clf.fit(X[["essay"]].iloc[:10], Y["emotion"].iloc[:10])
    with pytest.raises(TypeError, match="must be a DataFrame"):
        clf.fit(X["essay"].iloc[:10].tolist(), Y["emotion"].iloc[:10])
    with pytest.raises(TypeError, match="numeric"):
        clone(clf).set_params(extra_features=["emotion_text"]).fit(
            X[["essay"]].iloc[:10].assign(emotion_text="x"), Y["emotion"].iloc[:10]
        )
    with pytest.raises(ValueError, match="must divide"):
        TokenAttentionClassifier(
            model=tiny_bert_path, n_heads=5, max_epochs=1, early_stopping=False, device="cpu"
        ).fit(X["essay"].iloc[:10], Y["emotion"].iloc[:10])


# ------------------------------------------------------ DistilledMultiTaskClassifier
def test_teacher_annealing_reaches_one(wassa, tiny_bert_path):
    X, Y = wassa
    news = load_newsemp().frame.iloc[100:124]
    teacher = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=300))
    aux = {
        "emotion": (X["essay"].iloc[:24].tolist(), Y["emotion"].iloc[:24].to_numpy()),
        "distress": (
            X["essay"].iloc[40:56].tolist(),
            (Y["distress"].iloc[40:56] > 4).astype(int).to_numpy(),
        ),
    }
    kd = DistilledMultiTaskClassifier(
        teachers={"emotion": teacher},
        aux_data=aux,
        model=tiny_bert_path,
        max_length=24,
        batch_size=8,
        max_epochs=2,
        random_state=0,
        device="cpu",
    )
    kd.fit(news["essay"], news["empathy_bin"])
    lam = kd.lambda_schedule_
    n_steps = 2 * (3 + 3 + 2)  # batches of 8: 24 target + 24 emotion + 16 distress texts
    assert len(lam) == n_steps
    assert lam[0] == 0.0 and lam[-1] == 1.0
    np.testing.assert_allclose(np.diff(lam), 1 / (n_steps - 1))  # linear
    assert [h["lambda_end"] for h in kd.history_] == [pytest.approx(7 / 15), 1.0]
    # teachers: fitted clones, the given one untouched
    assert set(kd.teachers_) == {"emotion"} and not hasattr(teacher, "classes_")
    assert set(kd.aux_classes_["emotion"]) <= set(Y["emotion"])
    assert set(kd.predict(news["essay"].iloc[:6])) <= {0, 1}
    assert set(kd.predict_task(news["essay"].iloc[:6], "emotion")) <= set(
        kd.aux_classes_["emotion"]
    )
    assert set(kd.model_.head.heads) == {"target", "emotion", "distress"}
    restored = pickle.loads(pickle.dumps(kd))
    np.testing.assert_allclose(
        restored.predict_proba(news["essay"].iloc[:6]),
        kd.predict_proba(news["essay"].iloc[:6]),
        rtol=1e-5,
    )
    # without annealing the auxiliary targets stay the teacher's distribution
    flat = (
        clone(kd)
        .set_params(teacher_annealing=False, max_epochs=1, aux_data={"emotion": aux["emotion"]})
        .fit(news["essay"], news["empathy_bin"])
    )
    assert np.all(flat.lambda_schedule_ == 0.0)


def test_distillation_on_twittemp_soft_targets_change_the_student(
    tiny_bert_path, twittemp_home, goemotions_home
):
    """TwittEmp (none / seeking / providing) as the target task, GoEmotions sentiment as the
    auxiliary task: the teacher's soft labels give a different student than gold labels alone."""
    from skempathy.datasets import fetch_goemotions, fetch_twittemp

    tweets = fetch_twittemp(data_home=twittemp_home).frame
    tweets = tweets.groupby("label", group_keys=False).head(12)  # 36 tweets, 3 classes
    go = fetch_goemotions("train", data_home=goemotions_home, mapping="sentiment")
    single = np.flatnonzero(np.asarray(go.target).sum(axis=1) == 1)[:32]
    comments = [go.data[i] for i in single]
    sentiment = np.asarray(go.target_names)[np.asarray(go.target)[single].argmax(axis=1)]
    teacher = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=300))
    kw = dict(
        aux_data={"sentiment": (comments, sentiment)},
        model=tiny_bert_path,
        max_length=24,
        batch_size=8,
        max_epochs=2,
        learning_rate=1e-3,
        random_state=0,
        device="cpu",
    )
    kd = DistilledMultiTaskClassifier(teachers={"sentiment": teacher}, **kw)
    kd.fit(tweets["text"], tweets["label"])
    assert sorted(kd.classes_) == sorted(tweets["label"].unique())
    assert kd.lambda_schedule_[0] == 0.0 and kd.lambda_schedule_[-1] == 1.0
    mtl = DistilledMultiTaskClassifier(teachers={}, **kw).fit(tweets["text"], tweets["label"])
    assert mtl.teachers_ == {}
    a, b = kd.predict_proba(tweets["text"]), mtl.predict_proba(tweets["text"])
    assert a.shape == (36, 3) and not np.allclose(a, b, atol=1e-4)


def test_target_teacher_supervises_the_target_task(wassa, tiny_bert_path):
    """A teacher named "target" (every task taught, Hosseini & Caragea Eq. 2-3) is fitted on the
    training rows of fit(X, y) only and changes the student; without annealing its distribution
    alone is the target."""
    X, Y = wassa
    news = load_newsemp().frame.iloc[:32]
    aux = {"emotion": (X["essay"].iloc[:16].tolist(), Y["emotion"].iloc[:16].to_numpy())}
    teacher = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=300))
    kw = dict(
        aux_data=aux,
        model=tiny_bert_path,
        max_length=24,
        batch_size=8,
        max_epochs=2,
        learning_rate=1e-3,
        random_state=0,
        device="cpu",
    )
    both = DistilledMultiTaskClassifier(teachers={"target": teacher, "emotion": teacher}, **kw)
    both.fit(news["essay"], news["empathy_bin"])
    assert set(both.teachers_) == {"target", "emotion"}
    assert list(both.teachers_["target"].classes_) == list(both.classes_)
    aux_only = DistilledMultiTaskClassifier(teachers={"emotion": teacher}, **kw).fit(
        news["essay"], news["empathy_bin"]
    )
    a, b = both.predict_proba(news["essay"]), aux_only.predict_proba(news["essay"])
    assert not np.allclose(a, b, atol=1e-4)
    # with early stopping the teacher never sees the validation rows
    held = (
        clone(both)
        .set_params(early_stopping=True, validation_fraction=0.25, max_epochs=1)
        .fit(news["essay"], news["empathy_bin"])
    )
    assert held.teachers_["target"][0].vocabulary_ != both.teachers_["target"][0].vocabulary_


def test_distillation_errors(tiny_bert_path):
    teacher = make_pipeline(TfidfVectorizer(), LogisticRegression())
    clf = DistilledMultiTaskClassifier(
        teachers={"sentiment": teacher},
        aux_data={},
        model=tiny_bert_path,
        max_epochs=1,
        device="cpu",
    )
    with pytest.raises(ValueError, match="no auxiliary dataset"):
        clf.fit(["a b", "c d"], [0, 1])
    with pytest.raises(ValueError, match="absent from y"):
        fitted = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(
            ["good day", "bad day"], ["x", "y"]
        )
        clone(clf).set_params(teachers={"target": fitted}, refit_teachers=False).fit(
            ["good day", "bad day"], [0, 1]
        )
    with pytest.raises(ValueError, match="pair"):
        clone(clf).set_params(aux_data={"sentiment": ["only texts"]}).fit(["a b", "c d"], [0, 1])
    with pytest.raises(ValueError, match="not fitted|NotFitted"):
        clone(clf).set_params(
            refit_teachers=False, aux_data={"sentiment": (["good", "bad"], ["p", "n"])}
        ).fit(["a b", "c d"], [0, 1])


def test_encoder_only_checkpoint_becomes_bert2bert(tiny_bert_path):
    news = load_newsemp().frame.iloc[:16]
    clf = Seq2SeqLabelClassifier(
        model=tiny_bert_path,
        max_length=16,
        batch_size=8,
        max_epochs=1,
        random_state=0,
        device="cpu",
    )
    clf.fit(news["essay"], news["empathy_bin"])
    assert type(clf.model_).__name__ == "EncoderDecoderModel"
    proba = clf.predict_proba(news["essay"].iloc[:4])
    assert set(clf.predict(news["essay"].iloc[:4])) <= {0, 1}
    restored = pickle.loads(pickle.dumps(clf))
    assert type(restored.model_).__name__ == "EncoderDecoderModel"
    np.testing.assert_allclose(restored.predict_proba(news["essay"].iloc[:4]), proba, atol=1e-5)


# ------------------------------------------------ the sklearn contract on real text
@pytest.mark.parametrize(
    "name", ["DistilledMultiTaskClassifier", "Seq2SeqLabelClassifier", "TokenAttentionClassifier"]
)
def test_method_classifiers_in_pipeline_cross_validate_and_pickle(name):
    """What README promises for every published-method classifier: Pipeline + grouped
    cross_validate on WASSA essays, and a pickle that predicts what the original predicts."""
    from sklearn.model_selection import GroupKFold, cross_validate
    from sklearn.pipeline import Pipeline

    from .test_text_checks import TEXT_ESTIMATORS

    est = clone(next(e for e in TEXT_ESTIMATORS if type(e).__name__ == name))
    frame = load_wassa("train").frame.iloc[:30]
    texts, labels = (
        frame["essay"],
        frame["emotion"].isin(["sadness", "fear"]).map({True: "sad_or_fearful", False: "other"}),
    )
    pipe = Pipeline([("clf", est)])
    result = cross_validate(
        pipe,
        texts,
        labels,
        groups=frame["response_id"],
        cv=GroupKFold(2),
        scoring="accuracy",
        error_score="raise",
    )
    assert len(result["test_score"]) == 2 and np.all(np.isfinite(result["test_score"]))
    fitted = clone(pipe).fit(texts, labels)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(texts[:8]), fitted.predict(texts[:8]))
    assert set(fitted.predict(texts[:8])) <= {"sad_or_fearful", "other"}
