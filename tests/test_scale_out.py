"""Scale-out on real engines started in-process: joblib's loky and threading
backends, a Dask LocalCluster (process and thread workers) and Ray."""

import os
import shutil
import threading

import numpy as np
import pandas as pd
import pytest
from joblib import parallel_config
from sklearn import config_context
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from skempathy.datasets import load_wassa
from skempathy.ensemble import SeedEnsemble
from skempathy.model_selection import compare_models
from skempathy.model_selection._memory import PeakRSS
from skempathy.neural import TransformerRegressor
from skempathy.text import clear_embedding_cache

from ._scale_helpers import (
    LOAD_LOG_ENV,
    LOG_ENV,
    CountingEmbedder,
    LoadCountingRidge,
    SeesDataFrame,
    encoded_texts,
)

distributed = pytest.importorskip("distributed")

N = 160


@pytest.fixture(scope="module")
def wassa():
    data = load_wassa("train")
    return (
        data.data["essay"].iloc[:N].reset_index(drop=True),
        data.target["empathy"].iloc[:N].reset_index(drop=True),
        data.groups.iloc[:N].reset_index(drop=True),
    )


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """Folders every process notes its encoding and model loads in; set before workers start."""
    folders = {name: tmp_path_factory.mktemp(name.lower()) for name in (LOG_ENV, LOAD_LOG_ENV)}
    old = {name: os.environ.get(name) for name in folders}
    os.environ.update({name: str(folder) for name, folder in folders.items()})
    yield folders
    for name, value in old.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="module")
def encode_log(logs):
    return logs[LOG_ENV]


@pytest.fixture(scope="module")
def load_log(logs):
    return logs[LOAD_LOG_ENV]


def _reset(folder):
    clear_embedding_cache()
    shutil.rmtree(folder)
    folder.mkdir()


@pytest.fixture(scope="module")
def dask_client(logs):
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _models(tiny_bert_path):
    embed = CountingEmbedder(tiny_bert_path, max_length=48, batch_size=32)
    return {
        "mean-ridge": make_pipeline(embed, Ridge()),
        "mean-svr": make_pipeline(embed, SVR()),
        "cls-ridge": make_pipeline(
            CountingEmbedder(tiny_bert_path, max_length=48, pooling="cls"), Ridge()
        ),
        "tfidf": make_pipeline(TfidfVectorizer(), Ridge()),
    }


def _compare(models, wassa, n_jobs):
    X, y, groups = wassa
    return compare_models(
        models,
        X,
        y,
        groups=groups,
        n_jobs=n_jobs,
        n_resamples=50,
        random_state=0,
        show_progress=False,
        measure_memory=False,
    )


def test_compare_models_on_dask_workers_matches_one_process_and_encodes_once(
    tiny_bert_path, wassa, encode_log, dask_client
):
    models = _models(tiny_bert_path)
    _reset(encode_log)
    alone = _compare(models, wassa, n_jobs=1)
    n_unique = wassa[0].nunique()
    # two embedder settings (mean, cls), each text encoded once
    assert encoded_texts(encode_log) == 2 * n_unique

    _reset(encode_log)
    with parallel_config(backend="dask"):
        spread = _compare(models, wassa, n_jobs=2)
    pd.testing.assert_frame_equal(spread.fold_scores, alone.fold_scores)
    pd.testing.assert_frame_equal(
        pd.DataFrame(spread).drop(columns=["fit_time", "predict_time"]),
        pd.DataFrame(alone).drop(columns=["fit_time", "predict_time"]),
    )
    # encoded once, in the caller: the workers read the vectors they were sent
    assert encoded_texts(encode_log) == 2 * n_unique
    workers = set(spread.fold_info["error"])
    assert workers == {""}


def test_grid_search_on_dask_workers_shares_one_disk_cache(
    tiny_bert_path, wassa, encode_log, dask_client, tmp_path
):
    X, y, groups = wassa
    # settings no other test uses: the workers' memory caches hold nothing of them
    search = GridSearchCV(
        make_pipeline(
            CountingEmbedder(tiny_bert_path, max_length=40, cache=tmp_path / "one"), Ridge()
        ),
        {"ridge__alpha": [0.1, 1.0, 10.0]},
        cv=GroupKFold(3),
        n_jobs=1,
    )
    _reset(encode_log)
    alone = search.fit(X, y, groups=groups).cv_results_["mean_test_score"]
    assert encoded_texts(encode_log) == X.nunique()

    _reset(encode_log)
    search.set_params(estimator__countingembedder__cache=tmp_path / "two", n_jobs=2)
    with parallel_config(backend="dask"):
        spread = search.fit(X, y, groups=groups).cv_results_["mean_test_score"]
    np.testing.assert_array_equal(spread, alone)
    # 9 fits on two processes, one shared folder: every text encoded once in all
    assert encoded_texts(encode_log) == X.nunique()
    stored = []
    for chunk in (tmp_path / "two").rglob("*.npz"):
        with np.load(chunk) as data:
            stored += list(data["hashes"])
    assert len(stored) == len(set(stored)) == X.nunique()


@pytest.mark.parametrize("backend", ["loky", "threading", "dask-processes", "dask-threads"])
def test_seed_ensemble_of_fine_tuned_models_reproduces_on_every_backend(
    tiny_bert_path, wassa, backend, dask_client
):
    X, y, _ = wassa
    X, y = X.iloc[:64], y.iloc[:64]
    member = TransformerRegressor(
        tiny_bert_path, max_length=32, batch_size=16, max_epochs=1, dropout=0.1
    )
    ensemble = SeedEnsemble(member, n_estimators=2, random_state=0)
    alone = ensemble.fit(X, y).predict(X)
    if backend.startswith("dask"):
        if backend == "dask-threads":
            cluster = distributed.LocalCluster(
                n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
            )
            client = distributed.Client(cluster, set_as_default=False)
        with parallel_config(
            backend="dask", **({"client": client} if backend == "dask-threads" else {})
        ):
            spread = ensemble.set_params(n_jobs=2).fit(X, y).predict(X)
        if backend == "dask-threads":
            client.close()
            cluster.close()
    else:
        with parallel_config(backend=backend):
            spread = ensemble.set_params(n_jobs=2).fit(X, y).predict(X)
    # same seeds, same weights; across processes torch may use another thread count,
    # which can move the last float bit of a reduction
    np.testing.assert_allclose(spread, alone, rtol=1e-5, atol=1e-6)
    assert not np.allclose(ensemble.estimators_[0].predict(X), ensemble.estimators_[1].predict(X))


def test_sklearn_config_reaches_the_workers(wassa):
    frame = load_wassa("train").data[["age", "income", "iri_empathic_concern"]].iloc[:N]
    _, y, groups = wassa
    model = {"scaled": make_pipeline(StandardScaler(), SeesDataFrame())}
    with config_context(transform_output="pandas"), parallel_config(backend="loky"):
        result = compare_models(
            model,
            frame,
            y,
            groups=groups,
            n_jobs=2,
            n_resamples=10,
            show_progress=False,
            measure_memory=False,
        )
    # each fold's StandardScaler returned a DataFrame: the config crossed to loky's processes
    assert (result.predictions["scaled"] == 1.0).all()


def test_overlapping_memory_measurements_in_one_process_are_not_reported():
    started, release = threading.Barrier(2), threading.Event()
    peaks = {}

    def measure(name):
        with PeakRSS() as mem:
            started.wait()
            release.wait(5)
        peaks[name] = mem.peak_mb

    threads = [threading.Thread(target=measure, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    release.set()
    for t in threads:
        t.join()
    assert all(np.isnan(v) for v in peaks.values())
    with PeakRSS() as alone:
        block = np.ones(5_000_000)  # 40 MB
    del block
    assert alone.peak_mb == alone.peak_mb  # a number again once alone


@pytest.fixture(scope="module")
def ray_backend(logs):
    ray = pytest.importorskip("ray")
    from ray.util.joblib import register_ray

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # workers import the test helpers from the checkout, and log their encoding
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {**{k: str(v) for k, v in logs.items()}, "PYTHONPATH": root}},
    )
    register_ray()
    yield
    ray.shutdown()


def test_compare_models_and_seed_ensembles_on_ray(tiny_bert_path, wassa, encode_log, ray_backend):
    models = _models(tiny_bert_path)
    _reset(encode_log)
    alone = _compare(models, wassa, n_jobs=1)
    _reset(encode_log)
    with parallel_config(backend="ray"):
        spread = _compare(models, wassa, n_jobs=2)
    pd.testing.assert_frame_equal(spread.fold_scores, alone.fold_scores)
    assert encoded_texts(encode_log) == 2 * wassa[0].nunique()

    X, y = wassa[0].iloc[:64], wassa[1].iloc[:64]
    ensemble = SeedEnsemble(
        TransformerRegressor(tiny_bert_path, max_length=32, batch_size=16, max_epochs=1),
        n_estimators=2,
        random_state=0,
    )
    alone = ensemble.fit(X, y).predict(X)
    with parallel_config(backend="ray"):
        spread = ensemble.set_params(n_jobs=2).fit(X, y).predict(X)
    np.testing.assert_allclose(spread, alone, rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def saved_model(tiny_bert_path, wassa, tmp_path_factory):
    import joblib

    X, y, _ = wassa
    model = make_pipeline(CountingEmbedder(tiny_bert_path, max_length=48), LoadCountingRidge())
    path = tmp_path_factory.mktemp("model") / "empathy.joblib"
    joblib.dump(model.fit(X, y), path)
    return path


def _corpus(n=600):
    frame = load_wassa("train").frame.iloc[:n]
    return frame[["message_id", "essay"]].reset_index(drop=True)


def test_batch_predictor_on_dask_partitions_loads_the_model_once_per_worker(
    saved_model, load_log, dask_client
):
    import dask.dataframe as dd

    from skempathy.batch import BatchPredictor

    corpus = _corpus()
    predictor = BatchPredictor(saved_model, keep=["message_id"], allow_pickle=True)
    _reset(load_log)
    expected = predictor(corpus)
    assert len(os.listdir(load_log)) == 1
    _reset(load_log)
    frame = dd.from_pandas(corpus, npartitions=8)
    with parallel_config(backend="dask"):  # the default client is the cluster's
        got = frame.map_partitions(predictor, meta=expected.iloc[:0]).compute()
    # (Dask stores the ids as Arrow strings)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    # 8 partitions on 2 workers: one load per worker process
    assert 1 <= len(os.listdir(load_log)) <= 2


def test_batch_predictor_on_ray_batches(saved_model, load_log, ray_backend):
    import ray

    from skempathy.batch import BatchPredictor

    corpus = _corpus()
    expected = BatchPredictor(saved_model, keep=["message_id"], allow_pickle=True)(corpus)
    _reset(load_log)
    data = ray.data.from_pandas(corpus).repartition(6)
    got = data.map_batches(
        BatchPredictor,
        fn_constructor_kwargs={
            "model": str(saved_model),
            "keep": ["message_id"],
            "allow_pickle": True,
        },
        batch_format="pandas",
        batch_size=100,
        concurrency=2,
        num_cpus=0.5,
    ).to_pandas()  # CPUs left for reading
    got = got.sort_values("message_id").reset_index(drop=True)
    want = expected.sort_values("message_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False, check_exact=False, rtol=1e-6)
    assert 1 <= len(os.listdir(load_log)) <= 2  # one load per actor


def test_multitask_voting_members_share_one_encoding_on_dask(
    tiny_bert_path, encode_log, dask_client
):
    from skempathy.ensemble import MultiTaskVoting

    data = load_wassa("train")
    X, Y = data.data["essay"].iloc[:120], data.target[["empathy", "distress"]].iloc[:120]
    embed = CountingEmbedder(tiny_bert_path, max_length=56)  # settings no other test uses
    vote = MultiTaskVoting(
        [
            ("ridge", make_pipeline(embed, Ridge()), None),
            ("svr-empathy", make_pipeline(embed, SVR()), ["empathy"]),
        ]
    )
    _reset(encode_log)
    alone = vote.fit(X, Y).predict(X)
    assert encoded_texts(encode_log) == X.nunique()
    _reset(encode_log)
    with parallel_config(backend="dask"):
        spread = vote.set_params(n_jobs=2).fit(X, Y).predict(X)
    pd.testing.assert_frame_equal(spread, alone)
    assert encoded_texts(encode_log) == X.nunique()  # in the caller; the workers got vectors
