"""
MilaNLP's token-attention model: single-task, multi-input, multi-task
=====================================================================

MilaNLP (Fornaciari et al. 2021) fed the token matrix of a frozen encoder to
one single-head Transformer layer and a dense output, optionally with the
writers' side information as extra inputs (MI) and with empathy/distress as
auxiliary tasks (MTL). :class:`TokenAttentionClassifier` reproduces the
settings on WASSA 2021 emotion with the embedded MiniLM.

The encoder runs once per text (token states are cached across fits), so the
settings after the first are quick.
Runtime: about 3-6 minutes on a 2-core CPU.
"""

# %%
from sklearn.metrics import f1_score

from skempathy.datasets import WASSA_COLUMN_GROUPS, load_wassa
from skempathy.neural import TokenAttentionClassifier

targets = ["emotion", "empathy", "distress"]
X, Y = load_wassa("train", target=targets, return_X_y=True)
X_dev, Y_dev = load_wassa("dev", target=targets, return_X_y=True)
side = (
    WASSA_COLUMN_GROUPS["demographic"]
    + WASSA_COLUMN_GROUPS["personality"]
    + WASSA_COLUMN_GROUPS["iri"]
)

# %%
settings = {
    "STL": ([], "emotion"),
    "MI3 (demographics, personality, IRI)": (side, "emotion"),
    "MTL2 (emotion + empathy, distress)": ([], targets),
    "MI3-MTL2": (side, targets),
}
for name, (extra, target) in settings.items():
    cols = ["essay"] + extra
    clf = TokenAttentionClassifier(
        text_column="essay", extra_features=extra or None, max_length=128, random_state=0
    )
    clf.fit(X[cols], Y[target])
    f1 = f1_score(Y_dev["emotion"], clf.predict(X_dev[cols]), average="macro")
    print(
        f"{name:40s} dev macro-F1 {f1:.3f}  (stopped at epoch {clf.n_iter_}, "
        f"kept {clf.best_epoch_})"
    )

# %%
# The auxiliary heads predict on the original scale.
print({k: v[:3].round(2) for k, v in clf.predict_aux(X_dev[cols]).items()})
