"""Class weighting of the frozen emotion members of recipe ``best`` (WASSA 2021 Track 2).

The "class weighting" lever: ``default_track2`` (frozen MiniLM) and
``best_track2`` (frozen all-mpnet-base-v2, an optional install) with their
logistic regression's ``class_weight="balanced"`` (as shipped) and ``None``.
Dev = the official 270 dev essays; CV = writer-grouped 5-fold on train
(pooled out-of-fold macro-F1). Seconds with an embedding cache.

Run::

    python benchmarks/wassa_class_weight.py --cache /tmp/skemb
"""

import argparse
import sys

from sklearn.model_selection import GroupKFold, cross_val_predict

from skempathy._models import mpnet_available
from skempathy.datasets import load_wassa
from skempathy.metrics import wassa_evaluate
from skempathy.recipes import BEST_ENCODER, best_track2, default_track2
from skempathy.text import SentenceEmbedder


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--cache", default=None, help="on-disk embedding cache")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    train, dev = load_wassa("train"), load_wassa("dev")
    y, y_dev = train.frame["emotion"], dev.frame["emotion"]
    members = [("default_track2 (frozen MiniLM)", default_track2, "all-MiniLM-L6-v2")]
    if mpnet_available():
        members.append(("best_track2 (frozen mpnet)", best_track2, BEST_ENCODER))
    print("| member | class_weight | dev macro-F1 | dev accuracy | CV5 macro-F1 (pooled) |")
    print("|---|---|---|---|---|")
    for name, make, encoder in members:
        for class_weight in ("balanced", None):
            pipe = make(SentenceEmbedder(encoder, cache=args.cache, device=args.device))
            pipe.set_params(**{key: class_weight for key in pipe.get_params()
                               if key.endswith("head__class_weight")})
            oof = cross_val_predict(pipe, train.data, y, groups=train.groups, cv=GroupKFold(5))
            scores = wassa_evaluate(y_dev, pipe.fit(train.data, y).predict(dev.data))
            print(f"| {name} | {class_weight} | {scores['macro_f1']:.3f} | "
                  f"{scores['accuracy']:.3f} | {wassa_evaluate(y, oof)['macro_f1']:.3f} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
