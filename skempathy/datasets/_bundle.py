"""Build the compressed WASSA / NewsEmp files shipped in ``skempathy/datasets/data``.

A maintainer tool, not part of the public API: it reads the raw shared-task
files (see ``descr/wassa.rst`` for provenance), normalises the column names and
writes gzip-compressed CSVs. ``tests/test_datasets.py`` rebuilds them from the
raw files and checks that the shipped copies are identical in content.

    python -m skempathy.datasets._bundle /path/to/shared/data
"""

import sys
from pathlib import Path

import pandas as pd

# Raw (typo'd) names -> normalised snake_case names.
RENAMES = {
    "personality_openess": "personality_openness",
    "iri_empathatic_concern": "iri_empathic_concern",
}

INT_COLUMNS = ["article_id", "gender", "education", "race", "age", "income"]


def _normalise(frame):
    frame = frame.rename(columns=RENAMES)
    for column in INT_COLUMNS:
        if column in frame:
            frame[column] = frame[column].astype("int64")
    return frame


def read_raw_wassa(shared_dir):
    """Return ``{"train", "dev", "test"}`` frames of WASSA 2021 from the raw files."""
    shared_dir = Path(shared_dir)
    read = lambda p: pd.read_csv(shared_dir / p, sep="\t")  # noqa: E731
    train = read("wassa2022/messages_train_ready_for_WS.tsv")
    train = train.drop(columns=["empathy_bin", "distress_bin"])
    dev = read("wassa2021/dev-empathy-distress-prediction-task.tsv")
    gold = read("wassa2021/dev-goldstandard.tsv")
    if len(gold) != len(dev):
        raise ValueError("dev features and gold standard are not row-aligned")
    dev = pd.concat([dev, gold[["empathy", "distress", "emotion"]]], axis=1)
    test = read("wassa2021/messages_test_features_ready_for_WS.tsv")
    return {
        name: _normalise(frame)
        for name, frame in {"train": train, "dev": dev, "test": test}.items()
    }


def read_raw_newsemp(shared_dir):
    """Return the Buechel et al. (2018) messages frame from the raw CSV."""
    return _normalise(pd.read_csv(Path(shared_dir) / "buechel2018_empathic_reactions/messages.csv"))


def build(shared_dir, out_dir=None):
    out_dir = Path(out_dir or Path(__file__).parent / "data")
    out_dir.mkdir(parents=True, exist_ok=True)
    for split, frame in read_raw_wassa(shared_dir).items():
        frame.to_csv(
            out_dir / f"wassa2021_{split}.csv.gz",
            index=False,
            compression={"method": "gzip", "mtime": 0},
        )
    read_raw_newsemp(shared_dir).to_csv(
        out_dir / "newsemp_messages.csv.gz", index=False, compression={"method": "gzip", "mtime": 0}
    )
    return out_dir


if __name__ == "__main__":  # pragma: no cover
    print(build(sys.argv[1]))
