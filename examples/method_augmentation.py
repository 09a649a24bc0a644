"""
Augmenting WASSA emotion training data with GoEmotions (WASSA@IITK)
===================================================================

WASSA@IITK (Mundra et al. 2021) added Reddit comments from GoEmotions, mapped
to the seven WASSA emotions, to the 1,860 training essays of WASSA 2021
Track 2 and gained about 0.04 dev macro-F1. :func:`goemotions_to_wassa` builds
that mapped set and :class:`AugmentedEstimator` adds it to the training data
of every ``fit`` only: cross-validation folds are scored on essays alone.

Head: frozen embedded MiniLM sentence embeddings + logistic regression.
Runtime: about 2-4 minutes on a 2-core CPU (embedding ~4,600 texts once;
the embeddings are cached, so the cross-validation refits are cheap).
Usage: ``python examples/method_augmentation.py [--data-home ../shared/data]``
"""

# %%
import argparse
from pathlib import Path

from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from skempathy.augment import AugmentedEstimator, goemotions_to_wassa
from skempathy.datasets import load_wassa
from skempathy.text import SentenceEmbedder

parser = argparse.ArgumentParser()
parser.add_argument(
    "--data-home",
    default=str(Path(__file__).resolve().parents[2] / "shared" / "data"),
    help="folder holding goemotions/ (fetch_goemotions data_home)",
)
args = parser.parse_args()

# %%
# WASSA 2021 essays and the GoEmotions dev split mapped to the WASSA labels
# (dev is enough for this demo: 4,946 single-label comments).
train, dev = load_wassa("train"), load_wassa("dev")
X, y = train.data["essay"], train.frame["emotion"]
X_dev, y_dev = dev.data["essay"], dev.frame["emotion"]
X_extra, y_extra = goemotions_to_wassa("dev", data_home=args.data_home)
print(f"{len(X_extra)} GoEmotions comments; WASSA train class counts:")
print(y.value_counts().to_dict())

# %%
# The same pipeline with and without augmentation. ``strategy="balanced"``
# gives each drawn comment to the class with the fewest examples so far.
base = make_pipeline(SentenceEmbedder(show_progress=False), LogisticRegression(max_iter=2000))
augmented = AugmentedEstimator(
    base, X_extra, y_extra, strategy="balanced", n_samples=1500, random_state=0
)
for name, est in [("essays only", base), ("essays + GoEmotions", augmented)]:
    est.fit(X, y)
    dev_f1 = f1_score(y_dev, est.predict(X_dev), average="macro")
    # Honest CV: extra comments join the training folds only; writers never split.
    cv = cross_val_score(est, X, y, groups=train.groups, cv=GroupKFold(5), scoring="f1_macro")
    print(f"{name:22s} dev macro-F1 {dev_f1:.3f}   5-fold grouped CV {cv.mean():.3f}")
print("comments added per fit:", augmented.n_extra_)
