"""
Emotion patterns in empathetic dialogues and pattern-based data selection
=========================================================================

Follows "Emotion Modeling for Improving Empathy in Conversations" on the
EmpatheticDialogues conversations of ``shared/data/empatheticdialogues``:

1. train a GoEmotions annotator (embedded MiniLM + per-label logistic
   regression, thresholds tuned on dev) and annotate every utterance;
2. count speaker -> listener emotion transitions, rank them by frequency (the
   study's patterns are the most common pairs) and draw the transition matrix
   (lift over chance) as a heatmap;
3. keep the training conversations that hold one of the k most common pairs,
   with k chosen so that the subsets keep about the study's shares of the
   conversations (87 %, 57 % and 43 %);
4. fine-tune a bi-encoder response retriever without patterns (all
   conversations) and on each pattern subset, plus a random subset as large
   as the smallest one, and compare P@1,100 and BLEU (the mean of BLEU-1..4,
   as the study reports, and BLEU-4) of the top response retrieved from a
   fixed pool of training responses.

Runs offline on a 2-core CPU. The sizes are subsampled to stay under 20 minutes
(``--n-train-conversations`` etc.); the numbers are printed as a Markdown table.

    python examples/dialogue_patterns.py --shared-data ../shared/data --out out/dialogue
"""

# %%
import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from skempathy.datasets import fetch_goemotions
from skempathy.dialogue import (
    BiEncoderRetriever,
    DialogueDataWarning,
    EmotionAnnotator,
    annotate_dialogues,
    corpus_bleu_score,
    emotion_patterns,
    load_empathetic_intents,
    plot_transition_matrix,
    precision_at_k,
    select_by_patterns,
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--shared-data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data")
    )
    p.add_argument("--out", default="out/dialogue")
    p.add_argument(
        "--cache-dir",
        default=os.path.expanduser("~/.cache/skempathy/dialogue"),
        help="sentence-embedding cache (per text)",
    )
    p.add_argument(
        "--n-goemotions",
        type=int,
        default=6000,
        help="GoEmotions train comments for the annotator (random subset)",
    )
    p.add_argument("--n-train-conversations", type=int, default=800)
    p.add_argument("--n-test-conversations", type=int, default=300)
    p.add_argument(
        "--shares",
        type=float,
        nargs="*",
        default=[0.87, 0.57, 0.43],
        help="target shares of the conversations kept by the pattern subsets",
    )
    p.add_argument(
        "--pool-size",
        type=int,
        default=1000,
        help="train responses to retrieve from for BLEU (same pool for every model)",
    )
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def goemotions_home(shared):
    """A data_home holding the shared GoEmotions files, as fetch_goemotions caches them."""
    import shutil
    import tempfile

    home = Path(tempfile.gettempdir()) / "skempathy_goemotions_home"
    (home / "goemotions").mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        target = home / "goemotions" / f"{split}.tsv"
        if not target.exists():
            shutil.copy(Path(shared) / "goemotions" / f"{split}.tsv", target)
    return str(home)


def response_pairs(frame):
    """(context, response) pairs: each listener turn answers the turns before it."""
    contexts, responses, conv_ids = [], [], []
    for conv, group in frame.groupby("conv_id", sort=False):
        texts, speakers = group["text"].tolist(), group["speaker"].tolist()
        for t in range(1, len(texts)):
            if speakers[t] == "listener":
                contexts.append("\n".join(texts[:t]))
                responses.append(texts[t])
                conv_ids.append(conv)
    return pd.DataFrame({"conv_id": conv_ids, "context": contexts, "response": responses})


def main(argv=None):
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(args.seed)
    timings = {}
    t0 = time.perf_counter()

    # %% 1. Annotator trained on GoEmotions (subset), thresholds tuned on dev
    home = goemotions_home(args.shared_data)
    train = fetch_goemotions("train", data_home=home)
    dev = fetch_goemotions("dev", data_home=home)
    idx = np.random.RandomState(0).permutation(len(train.data))[: args.n_goemotions]
    annotator = EmotionAnnotator(cache_dir=args.cache_dir, random_state=0, show_progress=False)
    annotator.fit(
        [train.data[i] for i in idx],
        train.target[idx],
        X_dev=dev.data,
        y_dev=dev.target,
        labels=train.target_names,
    )
    timings["annotator fit"] = time.perf_counter() - t0

    # %% 2. EmpatheticDialogues: a subsample of train conversations + test conversations
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DialogueDataWarning)  # 3 single-utterance conversations
        ed = load_empathetic_intents(Path(args.shared_data) / "empatheticdialogues")
    train_ids = ed.loc[ed["split"] == "train", "conv_id"].unique()
    test_ids = ed.loc[ed["split"] == "test", "conv_id"].unique()
    train_ids = rng.choice(
        train_ids, size=min(args.n_train_conversations, len(train_ids)), replace=False
    )
    test_ids = rng.choice(
        test_ids, size=min(args.n_test_conversations, len(test_ids)), replace=False
    )
    ed_train = ed[ed["conv_id"].isin(set(train_ids))]
    ed_test = ed[ed["conv_id"].isin(set(test_ids))]

    t = time.perf_counter()
    annotated = annotate_dialogues(ed_train, annotator)
    timings["annotate"] = time.perf_counter() - t
    annotated.drop(columns=[c for c in annotated if c.startswith("proba_")]).to_csv(
        out / "annotated_train.csv.gz", index=False
    )

    # %% 3. Speaker -> listener patterns (most common first) and the heatmap
    table = emotion_patterns(annotated, source_speaker="speaker", sort_by="count")
    table.to_csv(out / "patterns.csv", index=False)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top_sources = table.groupby("source")["count"].sum().sort_values(ascending=False)
    top_targets = table.groupby("target")["count"].sum().sort_values(ascending=False)
    labels = list(top_sources.index[:12])
    labels += [t for t in top_targets.index[:12] if t not in labels]
    shown = table[table["source"].isin(labels) & table["target"].isin(labels)]
    ax = plot_transition_matrix(shown, value="lift", labels=labels)
    ax.set_title("EmpatheticDialogues speaker -> listener emotions (lift over chance)")
    ax.figure.tight_layout()
    ax.figure.savefig(out / "dialogue_transitions.png", dpi=120)
    plt.close(ax.figure)

    # %% 4. Subsets holding one of the k most common pairs, k chosen per target share
    n_conv = annotated["conv_id"].nunique()
    kept = {}
    for k in range(1, min(len(table), 60) + 1):
        sub = select_by_patterns(
            annotated, table.head(k), min_share=0.0, min_count=1, source_speaker="speaker"
        )
        kept[k] = set(sub["conv_id"])
    chosen = {
        share: min(kept, key=lambda k: abs(len(kept[k]) / n_conv - share)) for share in args.shares
    }
    pairs = response_pairs(ed_train)
    test_pairs = response_pairs(ed_test)
    sets = {"without patterns (all conversations)": pairs}
    for share, k in chosen.items():
        ids = kept[k]
        sets[f"{k} most common pairs ({len(ids) / n_conv:.0%} of conversations)"] = pairs[
            pairs["conv_id"].isin(ids)
        ]
    smallest = min(len(kept[k]) for k in chosen.values())
    random_ids = set(rng.choice(train_ids, size=smallest, replace=False))
    sets[f"random subset ({smallest / n_conv:.0%} of conversations)"] = pairs[
        pairs["conv_id"].isin(random_ids)
    ]
    pool = pairs["response"].sample(n=min(args.pool_size, len(pairs)), random_state=args.seed)
    pool = pool.tolist()  # BLEU: every model retrieves from the same pool
    rows = []
    for name, data in [("zero-shot (no training)", pairs)] + list(sets.items()):
        t = time.perf_counter()
        epochs = 0 if name.startswith("zero-shot") else args.epochs
        retriever = BiEncoderRetriever(
            batch_size=args.batch_size, epochs=epochs, random_state=args.seed
        )
        retriever.fit(data["context"].tolist(), data["response"].tolist())
        sims = retriever.similarity(test_pairs["context"].tolist(), test_pairs["response"].tolist())
        p_at_1 = precision_at_k(sims, k=1, n_candidates=100, random_state=0)
        retrieved = retriever.predict(test_pairs["context"].tolist(), candidates=pool)
        refs = test_pairs["response"].tolist()
        rows.append(
            {
                "training set": name,
                "conversations": data["conv_id"].nunique(),
                "pairs": len(data),
                "P@1,100": round(p_at_1, 4),
                "BLEU-1..4 mean": round(corpus_bleu_score(refs, retrieved, average_orders=True), 2),
                "BLEU-4": round(corpus_bleu_score(refs, retrieved), 2),
                "seconds": round(time.perf_counter() - t, 1),
            }
        )
        print(rows[-1], flush=True)
    results = pd.DataFrame(rows)
    results.to_csv(out / "retrieval.csv", index=False)
    timings["total"] = time.perf_counter() - t0

    # %% Report
    print(
        f"\nGoEmotions comments for the annotator: {len(idx)} (train subset), "
        f"thresholds tuned on dev ({len(dev.data)})"
    )
    print(
        f"EmpatheticDialogues: {len(train_ids)} train conversations "
        f"({len(ed_train)} utterances), {len(test_ids)} test conversations "
        f"({len(test_pairs)} test pairs)"
    )
    print("\nMost common speaker -> listener pairs:")
    print(
        table.head(max(chosen.values()))[["source", "target", "count", "share", "lift"]]
        .round(3)
        .to_markdown(index=False)
    )
    print("\n" + results.to_markdown(index=False))
    print("\nTimings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    return results


# %%
# The numbers of a run at a larger size are on the results page of the documentation.

if __name__ == "__main__":
    main()
