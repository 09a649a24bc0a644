"""Frozen encoders on WASSA 2021: the last layer vs all layers averaged, alone and in recipe best.

A sentence-transformers checkpoint is trained to put semantically similar
sentences close together, and its last layer is tuned for that. Essays about
the same news article share a topic but not an emotion, so the middle layers
may carry more of what WASSA asks for. This script refits the four frozen
members of recipe ``best`` (``best_track1`` and ``default_track2`` on MiniLM,
``best_track1`` and ``best_track2`` on all-mpnet-base-v2) with
:func:`skempathy.recipes.frozen_encoder` (every layer mean-pooled, then
averaged: ``TransformerEmbedder(layers="all")``), on writer-grouped 5-fold CV on
train (the folds of every saved run) and on dev.

The last-layer members (``SentenceEmbedder``) are not refitted: their
predictions are read from ``--finetuned`` (files written by
``wassa_finetune_blend.py --save``), which also hold the fine-tuned multi-task
member (several files: its seeds averaged). ``--goemotions`` reads the
GoEmotions members (files of ``wassa_goemotions_finetune.py --save``; several:
seeds averaged). The vote of recipe ``best`` is then scored with either set of
frozen members, with the recipe's weights: empathy / distress 1/3 per system;
emotion ``share`` to the GoEmotions members and the rest equally to the
multi-task, frozen MiniLM and frozen mpnet emotion voters, ``share`` on a grid.

``--save F`` keeps the new members' predictions; ``--load F`` re-prints
without fitting. ``--probe MODEL`` instead scores each layer on its own (mean
pooled, the essay alone -> the balanced logistic regression of Track 2 at
``--probe-C``) and, on the all-layer mean, a grid of ``best_track1``'s text
weight and ``C``. Run (mpnet encoding dominates: ~10 min on a 2-core CPU)::

    python benchmarks/wassa_layer_pooling.py --cache /tmp/skemb \\
        --finetuned benchmarks/results/wassa_finetune_blend_cv5{,_seed1}.npz \\
        --goemotions benchmarks/results/wassa_goemotions_cv5{,_seed1}.npz \\
        --save benchmarks/results/wassa_layer_pooling_cv5.npz
    python benchmarks/wassa_layer_pooling.py --probe all-mpnet-base-v2 --probe-C 0.001
"""

import argparse
import os
import sys
import time

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import PredefinedSplit, cross_val_predict

from skempathy.datasets import load_wassa
from skempathy.metrics import wassa_evaluate
from skempathy.recipes import (BEST_ENCODER, TRACK1_TASK, TRACK2_TASK, best_track1, best_track2,
                               default_track2, frozen_encoder)

MT, MINILM, MPNET = "fine-tuned MT MiniLM", "frozen MiniLM", "frozen mpnet"
SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "")


def members(cache, device):
    """{name: (track 1 pipeline, track 2 pipeline)} of the all-layer frozen members."""
    minilm = frozen_encoder("all-MiniLM-L6-v2", cache=cache, device=device)
    mpnet = frozen_encoder(BEST_ENCODER, cache=cache, device=device)
    return {MINILM: (best_track1(minilm), default_track2(minilm)),
            MPNET: (best_track1(mpnet), best_track2(mpnet))}


def fit_predict(pipes, X_train, y_train, X_test, classes):
    track1, track2 = (clone(p) for p in pipes)
    track1.fit(X_train, y_train[TRACK1_TASK])
    track2.fit(X_train, y_train[TRACK2_TASK])
    assert list(track2.classes_) == list(classes)
    return track2.predict_proba(X_test), np.asarray(track1.predict(X_test), dtype=float)


def fit_all(args, train, dev, folds, classes):
    out = {}
    cv = PredefinedSplit(folds)
    for name, (track1, track2) in members(args.cache, args.device).items():
        tic = time.perf_counter()
        dev_pred = fit_predict((track1, track2), train.data, train.frame, dev.data, classes)
        oof = (cross_val_predict(track2, train.data, train.frame[TRACK2_TASK], cv=cv,
                                 method="predict_proba"),
               cross_val_predict(track1, train.data, train.frame[TRACK1_TASK], cv=cv))
        out[f"dev/{name}/proba"], out[f"dev/{name}/scores"] = dev_pred
        out[f"oof/{name}/proba"], out[f"oof/{name}/scores"] = oof
        out[f"seconds/{name}"] = time.perf_counter() - tic
        print(f"{name}: {out[f'seconds/{name}']:.0f} s (encoding, full fit, folds)",
              file=sys.stderr, flush=True)
    return out


def layer_features(model, texts, batch_size=16):
    """Mean-pooled hidden states of every layer: (n_texts, n_layers + 1, hidden)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from skempathy._models import resolve_model

    path = resolve_model(model)
    tokenizer, net = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()
    out = np.empty((len(texts), net.config.num_hidden_layers + 1, net.config.hidden_size),
                   dtype=np.float32)
    order = np.argsort([-len(t) for t in texts], kind="stable")
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            idx = order[start:start + batch_size]
            enc = tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                            return_tensors="pt")
            mask = enc["attention_mask"].unsqueeze(-1).float()
            states = net(**enc, output_hidden_states=True).hidden_states
            out[idx] = torch.stack([(h * mask).sum(1) / mask.sum(1) for h in states], 1).numpy()
    return out


def probe(model, C, train, dev, folds):
    """Per-layer Track 2 macro-F1, then the Track 1 head grid on the all-layer mean."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multioutput import MultiOutputRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from sklearn.svm import SVR

    from skempathy.recipes import _CATEGORICAL, _NUMERIC

    n = len(train.data)
    tic = time.perf_counter()
    feats = layer_features(model, list(train.data["essay"]) + list(dev.data["essay"]))
    print(f"encoded {len(feats)} essays in {time.perf_counter() - tic:.0f} s", file=sys.stderr)
    y, y_dev = train.frame[TRACK2_TASK], dev.frame[TRACK2_TASK]

    def cv_and_dev(pipe, X, target, metric):
        X_train, X_dev = X.iloc[:n], X.iloc[n:]
        pooled = cross_val_predict(pipe, X_train, target[0], cv=PredefinedSplit(folds))
        fitted = clone(pipe).fit(X_train, target[0])
        return (wassa_evaluate(target[0], pooled)[metric],
                wassa_evaluate(target[1], fitted.predict(X_dev))[metric])

    logreg = make_pipeline(StandardScaler(), LogisticRegression(C=C, class_weight="balanced",
                                                                max_iter=3000))
    print(f"\n{model}: each layer mean-pooled, essay alone -> LogisticRegression(C={C:g}, "
          "balanced); writer-grouped CV5 (pooled) and dev macro-F1\n")
    print("| layers | CV5 macro-F1 | dev macro-F1 |\n|---|---|---|")
    columns = {f"layer {i}": feats[:, i] for i in range(feats.shape[1])}
    columns["mean of layers 1..last (layers='all')"] = feats[:, 1:].mean(1)
    for name, X in columns.items():
        cv, dv = cv_and_dev(logreg, pd.DataFrame(X), (y, y_dev), "macro_f1")
        print(f"| {name} | {cv:.3f} | {dv:.3f} |", flush=True)

    text = [f"e{i}" for i in range(feats.shape[2])]
    essays = pd.concat([train.data, dev.data], ignore_index=True)
    frame = pd.concat([essays[_NUMERIC + _CATEGORICAL],
                       pd.DataFrame(feats[:, 1:].mean(1), columns=text)], axis=1)
    Y = (train.frame[TRACK1_TASK], dev.frame[TRACK1_TASK])
    print(f"\n{model}, mean of all layers: best_track1's head (text weight w x scaled text + "
          "writer columns -> SVR(C)); CV5 (pooled) and dev average Pearson r\n")
    print("| w | C | CV5 avg r | dev avg r |\n|---|---|---|---|")
    for w in (0.1, 0.2, 0.3, 0.5):
        for svr_C in (1.0, 3.0):
            pre = ColumnTransformer(
                [("text", StandardScaler(), text), ("numeric", StandardScaler(), list(_NUMERIC)),
                 ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                  list(_CATEGORICAL))],
                transformer_weights={"text": w}, sparse_threshold=0.0)
            pipe = make_pipeline(pre, MultiOutputRegressor(SVR(C=svr_C)))
            cv, dv = cv_and_dev(pipe, frame, Y, "average_pearson")
            print(f"| {w:g} | {svr_C:g} | {cv:.3f} | {dv:.3f} |", flush=True)


def load_goemotions(paths, classes):
    """{"dev", "oof"}: the GoEmotions members' probabilities of ``--save`` files, seeds averaged."""
    runs = [np.load(path, allow_pickle=True) for path in paths]
    assert all(list(run["classes"]) == list(classes) for run in runs)
    return {split: np.mean([run[split] for run in runs], axis=0) for split in ("dev", "oof")}


# the saved runs of the MiniLM multi-task member, seeds 0 and 1 (wassa_finetune_blend.py --save)
MT_SEED_FILES = ("wassa_finetune_blend_cv5.npz", "wassa_finetune_blend_cv5_seed1.npz")


def saved_best_members():
    """Recipe best's saved member predictions, for the scripts that vary one member.

    Returns ``(members, goemotions, folds, classes)``: ``members[split][name]`` is
    ``(emotion probabilities, empathy / distress scores)`` for ``split`` "dev" or
    "oof" (writer-grouped 5-fold out-of-fold) and the members :data:`MT` (its two
    seeds averaged), :data:`MINILM` and :data:`MPNET` (all-layer frozen);
    ``goemotions[split]`` the GoEmotions members' probabilities, seeds averaged.
    """
    from wassa_finetune_blend import load_runs

    tuned = load_runs([RESULTS + name for name in MT_SEED_FILES])
    frozen = np.load(RESULTS + "wassa_layer_pooling_cv5.npz", allow_pickle=True)
    np.testing.assert_array_equal(frozen["folds"], tuned["folds"])
    members = {split: {name: (source[f"{split}/{name}/proba"], source[f"{split}/{name}/scores"])
                       for name, source in ((MT, tuned), (MINILM, frozen), (MPNET, frozen))}
               for split in ("dev", "oof")}
    goemotions = load_goemotions([RESULTS + f"wassa_goemotions_cv5{seed}.npz"
                                  for seed in ("", "_seed1")], tuned["classes"])
    return members, goemotions, tuned["folds"], tuned["classes"]


def member_parser(description):
    """The command line of the scripts that fit one fine-tuned member of recipe best on dev and
    on the writer-grouped folds of the saved runs, in chunks (wassa_finetune_mpnet.py,
    wassa_goemotions_mpnet.py)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--model", default=BEST_ENCODER)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cv", type=int, choices=(0, 5), default=0,
                        help="5: also the writer-grouped folds of the saved runs")
    parser.add_argument("--folds", type=int, nargs="+", choices=range(5), default=None,
                        help="with --cv 5, fit only these folds (default: all)")
    parser.add_argument("--save", default=None, help="write the predictions to this .npz")
    parser.add_argument("--load", default=None, help="print the table from a --save file")
    parser.add_argument("--resume", default=None,
                        help="a --save file: reuse its dev fit and folds, fit the missing folds")
    return parser


def vote(preds, goemotions, share, emotion_voters=(MT, MINILM, MPNET)):
    """Recipe best's vote over {member: (proba, scores)} and the GoEmotions probabilities.

    ``emotion_voters`` share the emotion vote left by the GoEmotions members equally.
    """
    scores = sum(preds[m][1] for m in (MT, MINILM, MPNET)) / 3
    proba = (1 - share) * sum(preds[m][0] for m in emotion_voters) / len(emotion_voters)
    return proba + share * goemotions, scores


def track1_weights(preds, frame, folds, step=0.1):
    """Empathy / distress weights of the three systems chosen by CV, and a nested check.

    Returns the weights with the best pooled out-of-fold average r, that score
    (optimistic), and the nested score: weights chosen on four folds' out-of-fold
    predictions, applied to the fifth, pooled.
    """
    import itertools

    names = (MT, MINILM, MPNET)
    ticks = np.round(np.arange(0, 1 + 1e-9, step), 10)
    grid = [w for w in itertools.product(ticks, repeat=3) if abs(sum(w) - 1) < 1e-9]

    def r(rows, w):
        scores = sum(wi * preds[m][1][rows] for wi, m in zip(w, names))
        return wassa_evaluate(frame[TRACK1_TASK].iloc[rows], scores)["average_pearson"]

    everything = np.arange(len(folds))
    best = max(grid, key=lambda w: r(everything, w))
    nested = np.zeros((len(folds), 2))
    for k in range(folds.max() + 1):
        tr, te = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        w = max(grid, key=lambda w: r(tr, w))
        nested[te] = sum(wi * preds[m][1][te] for wi, m in zip(w, names))
    nested_r = wassa_evaluate(frame[TRACK1_TASK], nested)["average_pearson"]
    return dict(zip(names, best)), r(everything, best), nested_r


def main(argv=None):
    from wassa_finetune_blend import load_runs, score

    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--finetuned", nargs="+",
                        default=[RESULTS + "wassa_finetune_blend_cv5.npz"],
                        help="wassa_finetune_blend.py --save file(s) (5 grouped folds)")
    parser.add_argument("--goemotions", nargs="+", default=[RESULTS + "wassa_goemotions_cv5.npz"],
                        help="wassa_goemotions_finetune.py --save file(s), same folds")
    parser.add_argument("--cache", default=None, help="on-disk embedding cache")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--save", default=None, help="write the new members' predictions here")
    parser.add_argument("--load", default=None, help="re-print from a --save file")
    parser.add_argument("--probe", default=None, metavar="MODEL",
                        help="score each layer of MODEL on its own instead")
    parser.add_argument("--probe-C", type=float, default=0.001,
                        help="logistic regression C of --probe (best_track2: 0.001)")
    args = parser.parse_args(argv)

    train, dev = load_wassa("train"), load_wassa("dev")
    saved = load_runs(args.finetuned)
    classes, folds = saved["classes"], saved["folds"]
    if args.probe:
        probe(args.probe, args.probe_C, train, dev, folds)
        return 0
    goemotions = load_goemotions(args.goemotions, classes)
    if args.load:
        new = dict(np.load(args.load, allow_pickle=True))
        np.testing.assert_array_equal(new["folds"], folds)
    else:
        new = fit_all(args, train, dev, folds, classes)
        new["folds"] = folds
        if args.save:
            np.savez(args.save, **new)

    def preds(split, layers):
        source = saved if layers == "last" else new
        out = {m: (source[f"{split}/{m}/proba"], source[f"{split}/{m}/scores"])
               for m in (MINILM, MPNET)}
        out[MT] = (saved[f"{split}/{MT}/proba"], saved[f"{split}/{MT}/scores"])
        return out

    frames = {"dev": dev.frame, "oof": train.frame}
    print(f"\nWASSA 2021, frozen members: last layer (SentenceEmbedder) vs all layers averaged "
          f"(frozen_encoder); CV = writer-grouped {folds.max() + 1}-fold on train, pooled\n")
    print("| system | layers | dev emp r | dev dis r | dev macro-F1 | CV avg r | CV macro-F1 |")
    print("|---|---|---|---|---|---|---|")
    for layers in ("last", "all"):
        for m in (MINILM, MPNET):
            dev_row, cv_row = (score(frames[s], classes, *preds(s, layers)[m])
                               for s in ("dev", "oof"))
            print(f"| {m} alone | {layers} | {dev_row['empathy_pearson']:.3f} | "
                  f"{dev_row['distress_pearson']:.3f} | {dev_row['macro_f1']:.3f} | "
                  f"{cv_row['average_pearson']:.3f} | {cv_row['macro_f1']:.3f} |")
    cv_f1 = {}
    for layers in ("last", "all"):
        for share in SHARES:
            dev_row, cv_row = (score(frames[s], classes, *vote(preds(s, layers), goemotions[s],
                                                               share))
                               for s in ("dev", "oof"))
            cv_f1[layers, share] = cv_row["macro_f1"]
            print(f"| recipe best, GoEmotions share {share:g} | {layers} | "
                  f"{dev_row['empathy_pearson']:.3f} | {dev_row['distress_pearson']:.3f} | "
                  f"{dev_row['macro_f1']:.3f} | {cv_row['average_pearson']:.3f} | "
                  f"{cv_row['macro_f1']:.3f} |")
    for layers in ("last", "all"):
        share = max(SHARES, key=lambda s: cv_f1[layers, s])
        print(f"\nCV-chosen GoEmotions share with {layers} layers: {share:g} "
              f"(CV macro-F1 {cv_f1[layers, share]:.3f})")
    chosen, optimistic, nested = track1_weights(preds("oof", "all"), train.frame, folds)
    dev_scores = sum(w * preds("dev", "all")[m][1] for m, w in chosen.items())
    dev_r = wassa_evaluate(dev.frame[TRACK1_TASK], dev_scores)["average_pearson"]
    print("\nEmpathy / distress weights chosen by CV (all layers): "
          + ", ".join(f"{m} {w:.1f}" for m, w in chosen.items())
          + f"; CV avg r {optimistic:.3f} (optimistic), nested CV {nested:.3f} (weights chosen "
          f"on four folds, scored on the fifth), dev {dev_r:.3f}")
    if not args.load:
        print("fit seconds (encoding, full fit and folds): " + ", ".join(
            f"{m} {new[f'seconds/{m}']:.0f}" for m in (MINILM, MPNET)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
