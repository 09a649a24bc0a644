"""
Embed essays and regress empathy with a grouped grid search
===========================================================

The WASSA 2021 essays are embedded once with the embedded MiniLM encoder,
joined with the scaled demographic, personality and IRI columns, and three
heads are compared with 3-fold cross-validation grouped by writer. The
embedding cache makes every candidate and fold reuse the first encoding.
"""

# %%
# Load the bundled data: 1860 train essays (5 per writer) and 270 dev essays.
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.svm import SVR

from skempathy.compose import make_wassa_pipeline
from skempathy.datasets import load_wassa
from skempathy.metrics import get_scorer, pearson_score
from skempathy.text import SentenceEmbedder, embedding_cache_info

train, dev = load_wassa("train"), load_wassa("dev")

# %%
# One pipeline: text -> MiniLM embeddings (scaled), numeric columns scaled,
# codes one-hot encoded, then a head. ``set_output`` keeps column names.
embedder = SentenceEmbedder("all-MiniLM-L6-v2", show_progress=True)
pipe = make_wassa_pipeline("empathy", head="ridge", embedder=embedder)
pipe.set_output(transform="pandas")

# %%
# Compare three heads; folds are grouped by writer (``train.groups``).
search = GridSearchCV(
    pipe,
    {"head": [Ridge(alpha=300.0), Ridge(alpha=2000.0), SVR(C=1.0)]},
    cv=GroupKFold(n_splits=3),
    scoring=get_scorer("pearson"),
)
search.fit(train.data, train.frame["empathy"], groups=train.groups)
print("best head:", search.best_params_["head"], f"CV Pearson {search.best_score_:.3f}")
print("texts encoded so far:", embedding_cache_info()["misses"])

# %%
# Score on dev with the official metric.
pred = search.predict(dev.data)
print(f"dev Pearson r (empathy): {pearson_score(dev.frame['empathy'], pred):.3f}")
first = search.best_estimator_[:-1].transform(dev.data.head(2))
print(first.iloc[:, :3])
