"""
Emotion classification as label generation (Team Phoenix)
=========================================================

Team Phoenix (WASSA 2021 Track 2) fine-tuned T5 to *write* the emotion word
and mapped invalid generations to "neutral". :class:`Seq2SeqLabelClassifier`
trains any encoder-decoder the same way but decodes under a constraint: it
scores every label sequence and returns the best, so an invalid label is
impossible, and ``predict_proba`` comes from the sequences' scores.

Without a hub there is no T5 here, so the embedded MiniLM is warm-started
into a BERT2BERT encoder-decoder (pass ``model="t5-small"`` or a local T5
folder when you have one). Generation models are heavy on CPU: this runs on
a subset. Runtime: about 10 minutes on a 2-core CPU with the defaults
(``--n-train 200``); expect little better than the majority class from so
little training, the point is the mechanism.
"""

# %%
import argparse

from sklearn.metrics import f1_score

from skempathy.datasets import load_wassa
from skempathy.neural import Seq2SeqLabelClassifier

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="minilm")
parser.add_argument("--n-train", type=int, default=200)
args = parser.parse_args()

X, y = load_wassa("train", target="emotion", return_X_y=True)
X_dev, y_dev = load_wassa("dev", target="emotion", return_X_y=True)
X, y = X["essay"].iloc[: args.n_train], y.iloc[: args.n_train]

# %%
clf = Seq2SeqLabelClassifier(
    model=args.model, prefix="emotion: ", max_length=96, max_epochs=1, random_state=0, verbose=1
)
clf.fit(X, y)
pred = clf.predict(X_dev["essay"])
print("dev macro-F1:", round(f1_score(y_dev, pred, average="macro"), 3))
print("labels predicted:", sorted(set(pred)), "all valid:", set(pred) <= set(clf.classes_))
print("unconstrained generations for comparison:", clf.generate(X_dev["essay"].iloc[:3]))
print(
    "P(label) for the first essay:",
    dict(zip(clf.classes_, clf.predict_proba(X_dev["essay"].iloc[:1])[0].round(3))),
)
