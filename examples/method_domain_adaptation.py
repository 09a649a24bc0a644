"""
Unsupervised domain adaptation with masked-language-model pre-training
======================================================================

"Distilling Knowledge for Empathy Detection" (Hosseini & Caragea 2021) also
continued the encoder's pre-training on unlabelled in-domain text
(``PRETRAIN-*``). :class:`MaskedLMAdapter` does that with the BERT masking
objective and writes a local checkpoint that any skempathy estimator accepts
as ``model=``.

Here MiniLM reads the unlabelled WASSA 2021 dev and test essays (no labels
used), then both the original and the adapted encoder are fine-tuned on a
NewsEmp binary-empathy subset.
Runtime: about 10 minutes on a 2-core CPU with the defaults
(``--n-unlabelled 400 --n-train 300``); the numbers of such a small run are
noisy, the point is the workflow.
"""

# %%
import argparse

from sklearn.metrics import f1_score
from sklearn.model_selection import GroupShuffleSplit

from skempathy.datasets import load_newsemp, load_wassa
from skempathy.neural import MaskedLMAdapter, TransformerClassifier

parser = argparse.ArgumentParser()
parser.add_argument("--n-unlabelled", type=int, default=400)
parser.add_argument("--n-train", type=int, default=300)
parser.add_argument("--output-dir", default=None, help="where to write the adapted model")
args = parser.parse_args()

# %%
# Unlabelled in-domain text: WASSA dev + test essays (the test set has no labels anyway).
unlabelled = (load_wassa("dev").data["essay"].tolist() + load_wassa("test").data["essay"].tolist())[
    : args.n_unlabelled
]
adapter = MaskedLMAdapter(
    model="minilm",
    mlm_probability=0.15,
    max_length=128,
    max_epochs=1,
    output_dir=args.output_dir,
    random_state=0,
    verbose=1,
)
adapter.fit(unlabelled)
print("adapted checkpoint:", adapter.checkpoint_path_)
held_out = unlabelled[-50:]
print(
    f"masked-LM loss on in-domain text: before "
    f"{adapter.masked_lm_loss(held_out, model='minilm'):.3f}, "
    f"after {adapter.masked_lm_loss(held_out):.3f}"
)

# %%
# Fine-tune the original and the adapted encoder on NewsEmp binary empathy.
frame = load_newsemp().frame
train_idx, test_idx = next(
    GroupShuffleSplit(1, test_size=0.2, random_state=0).split(frame, groups=frame["response_id"])
)
train_idx = train_idx[: args.n_train]
X, y = frame["essay"].iloc[train_idx], frame["empathy_bin"].iloc[train_idx]
X_test, y_test = frame["essay"].iloc[test_idx], frame["empathy_bin"].iloc[test_idx]
for name, model in [("MiniLM", "minilm"), ("MiniLM + MLM adaptation", adapter.checkpoint_path_)]:
    clf = TransformerClassifier(model=model, max_length=128, max_epochs=2, random_state=0)
    clf.fit(X, y)
    print(f"{name:25s} test F1 {f1_score(y_test, clf.predict(X_test)):.3f}")
