"""The one template fit: a small estimator written as hooks trains, records and resumes."""

import ast
import pathlib

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

import skempathy
from skempathy import _engine as T

torch = pytest.importorskip("torch")


class LinearHooks(T.TrainingTemplate, RegressorMixin, BaseEstimator):
    """Least squares by AdamW, written as the template's hooks only."""

    def __init__(self, max_epochs=30, learning_rate=0.1, random_state=0, early_stopping=False):
        self.max_epochs = max_epochs
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.early_stopping = early_stopping

    def fit(self, X, y, *, warm=False):
        data = {"X": torch.as_tensor(X, dtype=torch.float32)}
        data["y"] = torch.as_tensor(y, dtype=torch.float32)
        module = self.module_ if warm else None
        seed = T.fit_seed(self.random_state)
        self.module_ = self._train_module(data, device="cpu", seed=seed, module=module)
        return self

    def predict(self, X):
        with torch.no_grad():
            return self.module_(torch.as_tensor(X, dtype=torch.float32)).squeeze(1).numpy()

    def _build_module(self, data, device):
        return torch.nn.Linear(data["X"].shape[1], 1)

    def _epoch_batches(self, data, epoch, seed):
        order = T.epoch_rng(seed, epoch).permutation(len(data["X"]))
        return [{"x": data["X"][b], "y": data["y"][b]} for b in np.array_split(order, 4)]

    def _loss(self, module, batch):
        return torch.nn.functional.mse_loss(module(batch["x"]).squeeze(1), batch["y"])

    def _make_eval_fn(self, data):
        if not self.early_stopping:
            return None

        def eval_fn(module):
            with torch.no_grad():
                return -float(self._loss(module, {"x": data["X"], "y": data["y"]}))

        return eval_fn

    def _loop_settings(self):
        return {"max_epochs": self.max_epochs, "learning_rate": self.learning_rate}


def _data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(64, 3))
    return X, X @ np.array([1.0, -2.0, 0.5]) + 0.3


def test_a_hooks_only_estimator_learns_and_records_its_fit():
    X, y = _data()
    est = LinearHooks().fit(X, y)
    assert np.corrcoef(est.predict(X), y)[0, 1] > 0.99
    assert est.n_iter_ == len(est.history_) == 30
    assert est.history_[-1]["train_loss"] < est.history_[0]["train_loss"] / 10
    assert est.best_epoch_ == 30 and est.best_score_ is None and not est.interrupted_
    assert est.train_samples_per_s_ > 0
    # seeded: the same module, batch for batch
    again = LinearHooks().fit(X, y)
    assert np.array_equal(est.predict(X), again.predict(X))


def test_a_warm_start_continues_the_history_and_keeps_the_best_epoch():
    X, y = _data()
    est = LinearHooks(max_epochs=3, early_stopping=True).fit(X, y)
    first = est.best_score_
    est.fit(X, y, warm=True)
    assert [h["epoch"] for h in est.history_] == [1, 2, 3, 4, 5, 6]
    assert est.best_score_ >= first and est.best_epoch_ >= 3


def test_no_estimator_calls_the_training_loop_itself():
    """The loop is the template's: a module outside the engine that calls it is a second fit."""
    root = pathlib.Path(skempathy.__file__).parent
    callers = []
    for path in root.rglob("*.py"):
        if path.parent.name == "_engine":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", None))
                if name == "train_loop":
                    callers.append(str(path.relative_to(root)))
    assert callers == []


def test_the_fits_stay_thin():
    """A fit validates and hands over to the template: its body (docstring aside) stays short."""
    root = pathlib.Path(skempathy.__file__).parent
    long = []
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        trains = any(
            isinstance(node, ast.Attribute) and node.attr == "_train_module"
            for node in ast.walk(tree)
        )
        for node in ast.walk(tree) if trains else ():
            if isinstance(node, ast.FunctionDef) and node.name in ("fit", "_fit"):
                body = node.body[1:] if ast.get_docstring(node) else node.body
                if body[-1].end_lineno - body[0].lineno + 1 >= 40:
                    long.append(f"{path.relative_to(root)}:{node.lineno}")
    assert long == []
