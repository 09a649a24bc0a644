"""Property-based tests of what users feed us: any text, any table layout.

Each input either works or raises the documented error (``ValueError``/``TypeError`` from the
estimators, a one-line exit status 1 from the command line), and a failing command changes
nothing on disk.
"""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from skempathy.base import check_texts  # noqa: E402
from skempathy.cli import main  # noqa: E402
from skempathy.text import SentenceEmbedder  # noqa: E402

# any Unicode, lone surrogates included; files cannot hold surrogates, so tables use the rest
ANY_TEXT = st.text(max_size=200)
FILE_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)
HUGE = st.builds(
    lambda word, n: " ".join([word] * n),
    st.sampled_from(["sad", "ok", "\U0001f622", "日本"]),
    st.integers(1000, 5000),
)
CELL = st.one_of(
    FILE_TEXT,
    HUGE,
    st.none(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=False),
    st.booleans(),
)
WORDS = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=60,
)
FAST = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


def _documented_text_error(values):
    """The error check_texts documents for ``values``, or None if they are valid texts."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            check_texts(values)
    except (TypeError, ValueError) as exc:
        return type(exc)
    return None


@FAST
@given(st.lists(st.one_of(ANY_TEXT, HUGE, st.none(), st.floats(), st.integers()), max_size=6))
def test_check_texts_accepts_texts_and_names_everything_else(values):
    error = _documented_text_error(values)
    if error is None:
        assert all(isinstance(v, str) and v.strip() for v in values) and values
    else:
        assert (
            not values
            or any(not isinstance(v, str) or not v.strip() for v in values)
            or any("\ud800" <= ch <= "\udfff" for v in values for ch in v)
        )


@pytest.fixture(scope="module")
def embedder(tiny_bert_path):
    return SentenceEmbedder(
        tiny_bert_path, cache=False, device="cpu", batch_size=8, show_progress=False
    ).fit(["a first text"])


@FAST
@given(st.lists(st.one_of(ANY_TEXT, HUGE), min_size=1, max_size=5))
def test_an_embedder_embeds_any_valid_text_and_refuses_the_rest(embedder, texts):
    error = _documented_text_error(texts)
    event("refused" if error else "embedded")
    if error is not None:
        with pytest.raises(error):
            embedder.transform(texts)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out = embedder.transform(texts)
    assert out.shape == (len(texts), embedder.get_feature_names_out().size)
    assert out.dtype == np.float32 and np.isfinite(out).all()


CONTAINERS = st.sampled_from(
    ["list", "series", "frame1", "frame2", "array1", "array2", "object_frame_numbers"]
)


def _container(kind, texts):
    if kind == "list":
        return list(texts)
    if kind == "series":
        return pd.Series(texts, name="essay", index=range(10, 10 + len(texts)))
    if kind == "frame1":
        return pd.DataFrame({"essay": texts})
    if kind == "frame2":
        return pd.DataFrame({"essay": texts, "age": range(len(texts))})
    if kind == "array1":
        return np.asarray(texts, dtype=object)
    if kind == "array2":
        return np.asarray(texts, dtype=object).reshape(-1, 1)
    return pd.DataFrame({"essay": list(range(len(texts)))}, dtype=object)


@FAST
@given(st.lists(WORDS, min_size=1, max_size=4), CONTAINERS)
def test_an_embedder_reads_one_text_column_in_any_container(embedder, texts, kind):
    X = _container(kind, texts)
    event(kind)
    if kind in ("frame2", "object_frame_numbers"):  # two columns, or numbers: our errors
        with pytest.raises(ValueError if kind == "frame2" else TypeError, match="column|text"):
            embedder.transform(X)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out = embedder.transform(X)
        reference = embedder.transform(list(texts))
    np.testing.assert_array_equal(out, reference)


@pytest.fixture(scope="module")
def text_model(tmp_path_factory, tiny_bert_path):
    path = tmp_path_factory.mktemp("model") / "emotion.skops"
    assert (
        main(
            [
                "train",
                "--task",
                "emotion",
                "--head",
                "logreg",
                "--features",
                "text",
                "--model",
                tiny_bert_path,
                "--out",
                str(path),
                "--quiet",
            ]
        )
        == 0
    )
    return path


def _write(frame, path):
    if path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_csv(path, index=False)


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# a column is mostly clean texts, or anything a spreadsheet may hold
COLUMN = st.one_of(st.lists(WORDS, min_size=3, max_size=3), st.lists(CELL, min_size=3, max_size=3))


@FAST
@given(
    text=st.tuples(st.sampled_from(["essay", "text", "Essay", None]), COLUMN),
    others=st.dictionaries(
        st.sampled_from(["id", "message_id", "other", "gender"]), COLUMN, max_size=3
    ),
    suffix=st.sampled_from([".csv", ".jsonl"]),
    text_column=st.sampled_from([None, "text"]),
)
def test_predict_on_any_table_works_or_fails_cleanly(
    text_model, tmp_path_factory, capsys, text, others, suffix, text_column
):
    folder = tmp_path_factory.mktemp("predict")
    name, values = text
    frame = pd.DataFrame({**({} if name is None else {name: values}), **others})
    if frame.shape[1] == 0:
        frame = pd.DataFrame({"other": values})
    source = folder / f"in{suffix}"
    _write(frame, source)
    output = folder / "out.csv"
    (folder / "keep.txt").write_text("untouched")
    before = _snapshot(folder)
    command = [
        "predict",
        str(text_model),
        "--input",
        str(source),
        "--output",
        str(output),
        "--quiet",
    ] + ([] if text_column is None else ["--text-column", text_column])
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        code = main(command)
    err = capsys.readouterr().err
    event(f"exit status {code}")
    if code == 0:
        written = pd.read_csv(output)
        assert "emotion" in written.columns and written["emotion"].notna().all()
        assert _snapshot(folder).keys() == before.keys() | {"out.csv"}
        assert {k: v for k, v in _snapshot(folder).items() if k != "out.csv"} == before
    else:
        assert code == 1, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("skempathy predict: error:"), err
        assert _snapshot(folder) == before  # nothing written, nothing left behind


@FAST
@given(
    st.lists(st.one_of(FILE_TEXT, HUGE), min_size=1, max_size=6),
    st.sampled_from([".csv", ".jsonl"]),
)
def test_predict_answers_every_row_of_plain_texts(text_model, tmp_path_factory, texts, suffix):
    folder = tmp_path_factory.mktemp("texts")
    source = folder / f"in{suffix}"
    _write(pd.DataFrame({"id": range(len(texts)), "essay": texts}), source)
    output = folder / "out.jsonl"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        code = main(
            ["predict", str(text_model), "--input", str(source), "--output", str(output), "--quiet"]
        )
    blank = any(not t.strip() for t in texts)
    assert code == (1 if blank else 0)
    if not blank:
        rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
        assert [row["id"] for row in rows] == list(range(len(texts)))
    else:
        assert not output.exists()
