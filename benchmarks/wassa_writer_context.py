"""Writer and article context for recipe best's empathy / distress vote (WASSA 2021).

Each WASSA writer rated their own empathy and distress after five articles, and
the five ratings of one writer are close: the mean of a writer's other four
ratings predicts the fifth at r 0.62 (empathy) and 0.65 (distress), more than
recipe ``best`` reaches. Writers do not recur across train, dev and test, but
``response_id`` (the writer) and ``article_id`` are columns of the test files,
so a model may use them. Three ways, each scored on the writer-grouped folds of
the saved runs (a held-out writer's essays are all in one fold) and on dev:

* **article prior**: add ``alpha`` x (the article's mean rating among the
  training essays, smoothed toward the global mean by sklearn's
  ``TargetEncoder``, minus that mean) to the vote;
* **writer smoothing**: move each essay's vote toward the mean vote of the same
  writer's essays, ``(1 - lam) * vote + lam * writer mean``;
* **writer context**: give ``best_track1`` on the all-layer MiniLM a second
  text block, the mean embedding of the writer's essays (weight ``ctx``), and
  vote with it in place of that member.

The vote is recipe ``best``'s (1/3 each: multi-task seeds, frozen MiniLM,
frozen mpnet; predictions read from ``benchmarks/results``). Run from
``benchmarks/`` (MiniLM encoding ~1 min cold)::

    python wassa_writer_context.py --cache /tmp/skemb
"""
import argparse
import sys

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import PredefinedSplit, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, TargetEncoder

from skempathy.datasets import load_wassa
from skempathy.metrics import wassa_evaluate
from skempathy.recipes import TRACK1_TASK, best_track1, frozen_encoder
from wassa_layer_pooling import MINILM, saved_best_members, vote

ALPHAS = (0.25, 0.5, 1.0)
LAMS = (0.25, 0.5)
CTX_WEIGHTS = (0.1, 0.2)


def writer_mean(values, writers):
    """Each row replaced by the mean of the rows of the same writer."""
    return pd.DataFrame(values).groupby(writers).transform("mean").to_numpy()


class WriterMeanEmbedding(TransformerMixin, BaseEstimator):
    """Columns ``[text, writer]`` -> the mean embedding of each row's writer's texts.

    Transductive over the rows given to ``transform`` (no labels are used): in
    writer-grouped CV a held-out writer's essays are transformed together.
    """

    def __init__(self, embedder):
        self.embedder = embedder

    def fit(self, X, y=None):
        self.embedder_ = clone(self.embedder).fit(X.iloc[:, 0])
        return self

    def transform(self, X):
        return writer_mean(self.embedder_.transform(X.iloc[:, 0]), X.iloc[:, 1].to_numpy())


def with_writer_context(pipe, embedder, weight):
    """``best_track1`` with a standard-scaled writer-mean embedding block of ``weight``."""
    pre = pipe.named_steps["preprocessor"]
    blocks = pre.transformers + [("writer", make_pipeline(WriterMeanEmbedding(embedder),
                                                          StandardScaler()),
                                  ["essay", "response_id"])]
    pipe.set_params(preprocessor=ColumnTransformer(
        blocks, sparse_threshold=0.0,
        transformer_weights={**pre.transformer_weights, "writer": weight}))
    return pipe


def article_prior(articles, y, query):
    """Smoothed article means of the training ratings at ``query``, minus the global mean."""
    encoder = TargetEncoder(target_type="continuous", random_state=0)
    out = np.zeros((len(query), y.shape[1]))
    for j in range(y.shape[1]):  # TargetEncoder takes one continuous target at a time
        encoder.fit(articles.reshape(-1, 1), y[:, j])
        out[:, j] = encoder.transform(query.reshape(-1, 1))[:, 0] - encoder.target_mean_
    return out


def leave_one_out_r(frame, by):
    """Pearson r of each rating with the mean of the other ratings of its ``by`` group."""
    out = {}
    for target in TRACK1_TASK:
        grouped = frame.groupby(by)[target]
        n, total = grouped.transform("size"), grouped.transform("sum")
        others = (total - frame[target]) / (n - 1)
        keep = n > 1
        out[target] = np.corrcoef(others[keep], frame[target][keep])[0, 1]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--cache", default=None, help="on-disk embedding cache")
    args = parser.parse_args(argv)
    train, dev = load_wassa("train"), load_wassa("dev")
    best, _, folds, _ = saved_best_members()
    y = {"oof": train.frame[TRACK1_TASK], "dev": dev.frame[TRACK1_TASK]}
    writers = {"oof": train.frame["response_id"].to_numpy(),
               "dev": dev.frame["response_id"].to_numpy()}
    articles = {"oof": train.frame["article_id"].to_numpy(),
                "dev": dev.frame["article_id"].to_numpy()}

    def vote_scores(split, minilm=None):
        members = dict(best[split])
        if minilm is not None:
            members[MINILM] = (members[MINILM][0], minilm)
        return vote(members, goemotions=0.0, share=0.0)[1]

    for by in ("response_id", "article_id"):
        r = leave_one_out_r(train.frame, by)
        print(f"train, leave-one-out mean rating of the same {by}: "
              + ", ".join(f"{t} r {v:.3f}" for t, v in r.items()))
    print()

    def row(lever, setting, oof, dev_scores):
        cells = []
        for split, scores in (("oof", oof), ("dev", dev_scores)):
            r = wassa_evaluate(y[split], scores)
            cells += [r["empathy_pearson"], r["distress_pearson"], r["average_pearson"]]
        print(f"| {lever} | {setting} | " + " | ".join(f"{c:.3f}" for c in cells) + " |",
              flush=True)

    print("| lever | setting | CV5 emp r | CV5 dis r | CV5 avg r "
          "| dev emp r | dev dis r | dev avg r |")
    print("|---|---|---|---|---|---|---|---|")
    base = {split: vote_scores(split) for split in ("oof", "dev")}
    row("recipe `best` vote", "as shipped", base["oof"], base["dev"])

    y_train = y["oof"].to_numpy(dtype=float)
    prior = {"dev": article_prior(articles["oof"], y_train, articles["dev"]),
             "oof": np.zeros_like(y_train)}
    for fit, held in PredefinedSplit(folds).split():
        prior["oof"][held] = article_prior(articles["oof"][fit], y_train[fit],
                                           articles["oof"][held])
    for alpha in ALPHAS:
        row("article prior", f"alpha {alpha:g}",
            *(base[s] + alpha * prior[s] for s in ("oof", "dev")))

    for lam in LAMS:
        row("writer smoothing", f"lam {lam:g}",
            *((1 - lam) * base[s] + lam * writer_mean(base[s], writers[s])
              for s in ("oof", "dev")))

    encoder = frozen_encoder("all-MiniLM-L6-v2", cache=args.cache, device="cpu",
                             show_progress=False)
    X = {"oof": train.data.assign(response_id=writers["oof"]),
         "dev": dev.data.assign(response_id=writers["dev"])}
    row("writer context, MiniLM member alone", "ctx 0 (shipped)",
        best["oof"][MINILM][1], best["dev"][MINILM][1])
    for ctx in CTX_WEIGHTS:
        pipe = with_writer_context(best_track1(encoder), encoder, ctx)
        oof = cross_val_predict(pipe, X["oof"], y["oof"], cv=PredefinedSplit(folds))
        dev_pred = clone(pipe).fit(X["oof"], y["oof"]).predict(X["dev"])
        row("writer context, MiniLM member alone", f"ctx {ctx:g}", oof, dev_pred)
        row("writer context, in the vote", f"ctx {ctx:g}",
            vote_scores("oof", oof), vote_scores("dev", dev_pred))
    return 0


if __name__ == "__main__":
    sys.exit(main())
