"""Ensembles of fitted estimators.

* :class:`SeedEnsemble`: one estimator fitted with several random seeds,
  outputs averaged (the cheap remedy for seed-to-seed variation of
  fine-tuning).
* :class:`MultiTaskVoting`: soft voting, task by task, over estimators that
  each predict some of the columns of a multi-column target (e.g. one
  fine-tuned multi-task model for emotion + empathy + distress blended with
  frozen-encoder pipelines for each track).
"""

from ._multitask_voting import MultiTaskVoting
from ._seed import SeedEnsemble

__all__ = ["MultiTaskVoting", "SeedEnsemble"]
