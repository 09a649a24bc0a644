"""How the default ``skempathy wassa`` recipe was chosen: dev and 5-fold grouped CV scores.

Track 1 candidates (per target: empathy, distress) and Track 2 candidates
(emotion), all on the embedded MiniLM + the scaled WASSA columns, scored on
dev and with 5-fold cross-validation on train grouped by writer.

Usage::

    python benchmarks/bench_wassa_recipe.py [--cache DIR]
"""

import argparse
import os
import sys
import warnings

try:
    import skempathy  # noqa: F401
except ImportError:  # running from a checkout without `pip install .`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=None, help="on-disk embedding cache folder")
    args = parser.parse_args(argv)
    from skempathy.utils import cpu_summary

    print(f"Machine: {cpu_summary()}", flush=True)
    warnings.filterwarnings("ignore", category=UserWarning)

    from scipy.stats import pearsonr
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression, Ridge, RidgeClassifier
    from sklearn.model_selection import GroupKFold, cross_val_predict
    from sklearn.svm import SVC, SVR

    from skempathy.compose import make_preprocessor
    from skempathy.datasets import load_wassa
    from skempathy.metrics import wassa_evaluate
    from skempathy.text import SentenceEmbedder

    train, dev = load_wassa("train"), load_wassa("dev")
    emb = SentenceEmbedder(device="cpu", cache=args.cache)
    cv = GroupKFold(n_splits=5)
    feats = {}
    for scaled in (True, False):
        pre = make_preprocessor(embedder=emb, scale_text=scaled)
        feats[scaled] = (pre.fit_transform(train.data), pre.transform(dev.data))

    def predictions(scaled, est, target):
        A, B = feats[scaled]
        y = train.frame[target]
        return (
            clone(est).fit(A, y).predict(B),
            cross_val_predict(clone(est), A, y, groups=train.groups, cv=cv),
        )

    print(f"{'Track 1 (Pearson r)':<46}  dev emp  dev dis   CV emp   CV dis")
    base = {
        "Ridge(2000), scaled text": (True, Ridge(alpha=2000.0)),
        "Ridge(300), scaled text": (True, Ridge(alpha=300.0)),
        "SVR(C=1), scaled text": (True, SVR(C=1.0)),
        "SVR(C=3), raw text": (False, SVR(C=3.0)),
        "SVR(C=10), raw text": (False, SVR(C=10.0)),
    }
    preds = {
        name: {t: predictions(s, e, t) for t in ("empathy", "distress")}
        for name, (s, e) in base.items()
    }
    blends = {
        "0.5 Ridge(2000) + 0.5 SVR(C=3) raw": 0.5,
        "0.7 Ridge(2000) + 0.3 SVR(C=3) raw [default]": 0.7,
    }
    for name, w in blends.items():
        preds[name] = {
            t: tuple(
                w * a + (1 - w) * b
                for a, b in zip(
                    preds["Ridge(2000), scaled text"][t], preds["SVR(C=3), raw text"][t]
                )
            )
            for t in ("empathy", "distress")
        }
    for name, p in preds.items():
        r = [pearsonr(dev.frame[t], p[t][0])[0] for t in ("empathy", "distress")]
        r += [pearsonr(train.frame[t], p[t][1])[0] for t in ("empathy", "distress")]
        print(f"{name:<46}" + "".join(f"{v:9.3f}" for v in r))

    print("\nTrack 2 (macro-F1)                               dev    CV")
    A, B = feats[True]

    def logreg(c):
        return LogisticRegression(C=c, class_weight="balanced", max_iter=3000)

    for name, est in {
        "LogisticRegression(C=0.003, balanced)": logreg(0.003),
        "LogisticRegression(C=0.01, balanced) [default]": logreg(0.01),
        "LogisticRegression(C=0.1, balanced)": logreg(0.1),
        "SVC(C=3, balanced)": SVC(C=3.0, class_weight="balanced"),
        "RidgeClassifier(100, balanced)": RidgeClassifier(alpha=100.0, class_weight="balanced"),
    }.items():
        y = train.frame["emotion"]
        dev_f1 = wassa_evaluate(dev.frame["emotion"], clone(est).fit(A, y).predict(B))["macro_f1"]
        cv_pred = cross_val_predict(clone(est), A, y, groups=train.groups, cv=cv)
        cv_f1 = wassa_evaluate(y, cv_pred)["macro_f1"]
        print(f"{name:<46}{dev_f1:7.3f}{cv_f1:7.3f}")


if __name__ == "__main__":
    main()
