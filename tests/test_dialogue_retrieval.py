"""Bi-encoder retrieval (tiny random BERT), P@k,n and corpus BLEU."""

import pickle

import numpy as np
import pytest
import sacrebleu
from sklearn.base import clone

from skempathy.dialogue import (
    BiEncoderRetriever,
    bleu_scorer,
    corpus_bleu_score,
    precision_at_k,
    precision_at_k_scorer,
)


def test_precision_at_k_hand_computed():
    scores = np.array(
        [
            [0.9, 0.1, 0.3, 0.2],  # true 0.9 is best -> hit@1
            [0.8, 0.5, 0.2, 0.1],  # 0.8 > 0.5 -> rank 2: hit@2 only
            [0.1, 0.7, 0.6, 0.65],  # rank 3
            [0.4, 0.4, 0.4, 0.4],  # ties count against -> rank 4
        ]
    )
    assert precision_at_k(scores, k=1, n_candidates=None) == 0.25
    assert precision_at_k(scores, k=2, n_candidates=None) == 0.5
    assert precision_at_k(scores, k=3, n_candidates=None) == 0.75
    assert precision_at_k(scores, k=4, n_candidates=None) == 1.0
    # explicit targets on a rectangular matrix
    # rows 0-2 have their target as the row maximum, row 3 is all ties
    assert precision_at_k(scores[:, :3], target=[0, 0, 1, 2], k=1, n_candidates=None) == 0.75
    # pools of 2: query 1's only distractor is drawn from {0, 2, 3}; 0 beats it, 2 and 3 do not
    draws = [
        precision_at_k(scores[1:2], target=[1], k=1, n_candidates=2, random_state=s)
        for s in range(30)
    ]
    assert set(draws) == {0.0, 1.0}
    assert precision_at_k(scores, k=1, n_candidates=100) == 0.25  # pool larger than the data
    with pytest.raises(ValueError, match="target"):
        precision_at_k(scores[:, :3])
    with pytest.raises(ValueError, match="k must be"):
        precision_at_k(scores, k=0)


def test_precision_at_k_sampled_pool_is_exact_when_true_is_best():
    rng = np.random.RandomState(0)
    scores = rng.rand(300, 300)
    np.fill_diagonal(scores, 2.0)
    assert precision_at_k(scores, k=1, n_candidates=100) == 1.0
    np.fill_diagonal(scores, -1.0)
    assert precision_at_k(scores, k=1, n_candidates=100) == 0.0
    # random scores: P@1,100 is about 1/100, P@10,100 about 10/100
    random_scores = rng.rand(2000, 2000)
    assert precision_at_k(random_scores, k=10, n_candidates=100) == pytest.approx(0.1, abs=0.02)


def test_corpus_bleu_matches_sacrebleu():
    refs = ["I am so sorry to hear that .", "That is great news , congratulations !"]
    hyps = ["I am sorry to hear that .", "Great news !"]
    expected = sacrebleu.corpus_bleu(hyps, [refs]).score
    assert corpus_bleu_score(refs, hyps) == pytest.approx(expected)
    assert 0 < expected < 100
    with pytest.raises(ValueError, match="references"):
        corpus_bleu_score(refs, hyps[:1])


def test_bleu_orders_and_their_mean_on_empathetic_dialogues(shared_data):
    """BLEU-n falls with n for responses that share words but few long n-grams; the mean of
    BLEU-1..4 is the mean of the four sacrebleu scores."""
    from sacrebleu.metrics import BLEU

    from skempathy.dialogue import load_empathetic_intents

    frame = load_empathetic_intents(
        shared_data / "empatheticdialogues" / "empatheticdialogues_empatheticintents.csv.gz",
        split="valid",
    )
    listener = frame.loc[frame["speaker"] == "listener", "text"].head(400).tolist()
    refs, hyps = listener[:200], listener[200:]  # unrelated responses of the same register
    by_order = [corpus_bleu_score(refs, hyps, max_order=n) for n in (1, 2, 3, 4)]
    assert by_order == sorted(by_order, reverse=True) and by_order[0] > 5 * by_order[3]
    for n, value in zip((1, 2, 3, 4), by_order):
        assert value == pytest.approx(BLEU(max_ngram_order=n).corpus_score(hyps, [refs]).score)
    assert corpus_bleu_score(refs, hyps, average_orders=True) == pytest.approx(np.mean(by_order))
    assert corpus_bleu_score(refs, hyps) == pytest.approx(by_order[3])
    with pytest.raises(ValueError, match="max_order"):
        corpus_bleu_score(refs, hyps, max_order=0)


def _pairs(n=48):
    topics = [
        "dog",
        "exam",
        "job",
        "car",
        "rain",
        "pizza",
        "movie",
        "game",
        "beach",
        "cat",
        "train",
        "song",
    ]
    contexts, responses = [], []
    for i in range(n):
        topic = topics[i % len(topics)]
        contexts.append(f"I keep thinking about the {topic} from yesterday, number {i}.")
        responses.append(f"Oh, the {topic}? Tell me more about the {topic}.")
    return contexts, responses


def test_bi_encoder_retriever_learns_on_tiny_bert(tiny_bert_path):
    contexts, responses = _pairs()
    kw = dict(
        model=tiny_bert_path,
        batch_size=12,
        max_seq_length=32,
        device="cpu",
        random_state=0,
        learning_rate=5e-4,
    )
    untrained = BiEncoderRetriever(epochs=0, **kw).fit(contexts, responses)
    trained = BiEncoderRetriever(epochs=4, **kw).fit(contexts, responses)
    assert untrained.history_ == []
    losses = [h["train_loss"] for h in trained.history_]
    assert len(losses) == 4 and losses[-1] < losses[0]
    assert all(h["n_samples"] == 48 for h in trained.history_)
    # the seed reproduces the fit and leaves the caller's torch random state as it was
    import torch

    state = torch.random.get_rng_state()
    again = BiEncoderRetriever(epochs=4, **kw).fit(contexts, responses)
    assert torch.equal(state, torch.random.get_rng_state())
    np.testing.assert_allclose([h["train_loss"] for h in again.history_], losses, rtol=1e-5)
    sim = trained.similarity(contexts, responses)
    assert sim.shape == (48, 48)

    # responses of the same topic are identical, so count a hit when a same-topic response wins
    def topic_hit(retriever):
        top = retriever.rank(contexts, responses)[:, 0]
        return np.mean([responses[j] == responses[i] for i, j in enumerate(top)])

    assert topic_hit(trained) > topic_hit(untrained)
    assert topic_hit(trained) >= 0.5
    predicted = trained.predict(contexts[:3])
    assert all(p in trained.candidates_ for p in predicted)
    with pytest.warns(UserWarning, match="Only 48 pairs"):
        assert trained.score(contexts, responses) == precision_at_k(sim, k=1, n_candidates=100)
    restored = pickle.loads(pickle.dumps(trained))
    np.testing.assert_allclose(
        restored.similarity(contexts[:4], responses[:4]), sim[:4, :4], atol=1e-5
    )
    scorer = precision_at_k_scorer(k=5, n_candidates=20)
    assert 0 <= scorer(trained, contexts, responses) <= 1
    bleu = bleu_scorer()(trained, contexts, responses)
    assert bleu == pytest.approx(corpus_bleu_score(responses, trained.predict(contexts, responses)))
    assert bleu > corpus_bleu_score(responses, untrained.predict(contexts, responses))
    assert not hasattr(clone(trained), "model_")


def test_bi_encoder_retriever_input_errors(tiny_bert_path):
    r = BiEncoderRetriever(model=tiny_bert_path, epochs=0, device="cpu")
    with pytest.raises(ValueError, match="requires y"):
        r.fit(["a", "b"], None)
    with pytest.raises(ValueError, match="2 contexts but y has 1"):
        r.fit(["a", "b"], ["x"])
    with pytest.raises(ValueError, match="missing"):
        r.fit(["a", None], ["x", "y"])
    with pytest.raises(Exception, match="not fitted"):
        r.predict(["a"])
    with pytest.raises(ValueError, match="truncate_context"):
        BiEncoderRetriever(truncate_context="middle").fit(["a", "b"], ["x", "y"])
