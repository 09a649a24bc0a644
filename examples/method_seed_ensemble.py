"""
Seed ensembles and soft voting
==============================

Fine-tuning is sensitive to the random seed; the WASSA 2021 systems averaged
several runs. :class:`SeedEnsemble` fits one estimator with ``n_estimators``
seeds and averages ``predict_proba`` (classifiers) or ``predict``
(regressors). For a soft vote across *different* estimators use sklearn's
:class:`~sklearn.ensemble.VotingClassifier`, shown at the end.

Here the members are small MLPs on frozen MiniLM embeddings (cheap), but any
estimator with a ``random_state`` works, e.g.
``SeedEnsemble(TransformerClassifier(), n_estimators=5)``.
Runtime: about 1-2 minutes on a 2-core CPU.
"""

# %%
import numpy as np
from sklearn.ensemble import VotingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline

from skempathy.datasets import load_wassa
from skempathy.ensemble import SeedEnsemble
from skempathy.text import SentenceEmbedder

X, y = load_wassa("train", target="emotion", return_X_y=True)
X_dev, y_dev = load_wassa("dev", target="emotion", return_X_y=True)

# %%
# Embed once (the embedder caches), then compare single seeds with their ensemble.
embedder = SentenceEmbedder(show_progress=False).fit(X["essay"])
E, E_dev = embedder.transform(X["essay"]), embedder.transform(X_dev["essay"])
mlp = MLPClassifier(hidden_layer_sizes=(128,), alpha=1e-3, max_iter=300, early_stopping=True)
ens = SeedEnsemble(mlp, n_estimators=5, random_state=0).fit(E, y)
single = [f1_score(y_dev, m.predict(E_dev), average="macro") for m in ens.estimators_]
print("single seeds  dev macro-F1:", np.round(single, 3))
print(f"seed ensemble dev macro-F1: {f1_score(y_dev, ens.predict(E_dev), average='macro'):.3f}")

# %%
# Heterogeneous soft voting on raw text: MiniLM + logistic regression next to TF-IDF.
vote = VotingClassifier(
    [
        (
            "minilm",
            make_pipeline(SentenceEmbedder(show_progress=False), LogisticRegression(max_iter=2000)),
        ),
        (
            "tfidf",
            make_pipeline(
                TfidfVectorizer(min_df=2, sublinear_tf=True), LogisticRegression(max_iter=2000, C=5)
            ),
        ),
    ],
    voting="soft",
).fit(X["essay"], y)
print(
    f"soft vote     dev macro-F1: "
    f"{f1_score(y_dev, vote.predict(X_dev['essay']), average='macro'):.3f}"
)
