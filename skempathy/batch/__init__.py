"""Prediction over corpora larger than memory.

:func:`map_table` streams a CSV, TSV or JSON-lines file through a function of a
DataFrame chunk (the ``skempathy predict`` command, :func:`~skempathy.dialogue.annotate_dialogues`,
a :class:`BatchPredictor`), reading the next chunk and writing the previous
outputs while the function runs, with bounded memory, a progress bar with the
time left and an output that appears only once complete (``resume=True``: an
interrupted run leaves its complete chunks, and the next one goes on from them).
:class:`BatchPredictor` is the same function as an object for the partitions of
a Dask DataFrame (``map_partitions``) or the batches of a Ray Dataset
(``map_batches``): it loads a saved model once per worker process.
"""

from ._predictor import BatchPredictor
from ._tables import map_table, read_table_chunks

__all__ = ["BatchPredictor", "map_table", "read_table_chunks"]
