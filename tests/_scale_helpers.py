"""Estimators the scale-out tests send to worker processes (importable there)."""

import os
import uuid

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Ridge

from skempathy.text import TransformerEmbedder

# Folders where CountingEmbedder notes every batch it encodes and LoadCountingRidge
# every unpickling, in any process.
LOG_ENV = "SKEMPATHY_TEST_ENCODE_LOG"
LOAD_LOG_ENV = "SKEMPATHY_TEST_LOAD_LOG"


class CountingEmbedder(TransformerEmbedder):
    """A TransformerEmbedder that writes one file per encode call, with the count
    of texts it encoded, so a test can add up the encoding work of every worker."""

    def _encode(self, model, texts, show_progress):
        folder = os.environ.get(LOG_ENV)
        if folder:
            with open(os.path.join(folder, uuid.uuid4().hex), "w") as fh:
                fh.write(str(len(texts)))
        return super()._encode(model, texts, show_progress)


def encoded_texts(folder):
    """How many texts CountingEmbedder encoded, all processes together."""
    return sum(int(open(os.path.join(folder, f)).read()) for f in os.listdir(folder))


class SeesDataFrame(RegressorMixin, BaseEstimator):
    """Predicts 1.0 where fit and predict received a DataFrame (sklearn's
    ``transform_output="pandas"`` reached the process), else 0.0."""

    def fit(self, X, y):
        self.saw_frame_ = isinstance(X, pd.DataFrame)
        self.n_features_in_ = np.shape(X)[1]
        return self

    def predict(self, X):
        seen = float(self.saw_frame_ and isinstance(X, pd.DataFrame))
        return np.full(len(X), seen)


class LoadCountingRidge(Ridge):
    """A Ridge that notes in the log folder every time it is unpickled."""

    def __setstate__(self, state):
        folder = os.environ.get(LOAD_LOG_ENV)
        if folder:
            open(os.path.join(folder, uuid.uuid4().hex), "w").close()
        super().__setstate__(state)
