"""Data-parallel fine-tuning: two CPU processes (gloo) started by torchrun and by
accelerate launch, against the single-process fit it must equal."""

import json
import os
import shutil
import socket
import subprocess
import sys

import joblib
import numpy as np
import pytest

from skempathy.datasets import load_wassa

SCRIPT = """
import json, os, sys
import joblib, torch
from skempathy.datasets import load_wassa
from skempathy.neural import TransformerRegressor, data_parallel, is_main_process

model, out, accumulate, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
torch.set_num_threads(1)
if mode == "data-parallel":
    data_parallel()
elif mode == "own-group":  # a group the script started for other work: fits stay local
    torch.distributed.init_process_group("gloo")
wassa = load_wassa("train")
X, y = wassa.data["essay"].iloc[:160], wassa.target["empathy"].iloc[:160]
est = TransformerRegressor(model, max_length=32, batch_size=8, max_epochs=2, dropout=0.0,
                           learning_rate=1e-3, gradient_accumulation_steps=accumulate,
                           random_state=0).fit(X, y)
rank = int(os.environ.get("RANK", "0"))
total = float(sum(p.double().sum() for p in est.model_.parameters()))
with open(os.path.join(out, f"rank{rank}.json"), "w") as fh:
    json.dump({"weights": total, "history": est.history_}, fh)
if is_main_process():
    joblib.dump(est, os.path.join(out, "model.joblib"))
"""


@pytest.fixture(scope="module")
def no_dropout_bert(tmp_path_factory):
    """A 2-layer random BERT without dropout: the fits compared are deterministic."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from skempathy.base import resolve_model

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(resolve_model("minilm"))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    path = tmp_path_factory.mktemp("bert_no_dropout")
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(command, out):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = sorted(p for p in os.listdir(out) if p.startswith("rank"))
    return [json.load(open(os.path.join(out, r))) for r in ranks]


@pytest.fixture(scope="module")
def single_process_fit(no_dropout_bert, tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    script = out / "fit.py"
    script.write_text(SCRIPT)
    # batch 8 accumulated twice: what two processes of batch 8 compute together
    ranks = _run([sys.executable, str(script), no_dropout_bert, str(out), "2", "one"], out)
    return ranks[0], joblib.load(out / "model.joblib")


LAUNCHERS = {
    "torchrun": lambda port, script: [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(port),
        str(script),
    ],
    # accelerate's --cpu launcher starts several processes through mpirun only; its
    # torchrun-based launcher (--multi_gpu) runs CPU processes where there is no GPU
    "accelerate": lambda port, script: [
        shutil.which("accelerate") or "accelerate",
        "launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        str(port),
        str(script),
    ],
}


@pytest.mark.parametrize("launcher", list(LAUNCHERS))
def test_two_process_fine_tuning_equals_the_accumulated_single_process_fit(
    launcher, no_dropout_bert, single_process_fit, tmp_path
):
    if launcher == "accelerate":
        pytest.importorskip("accelerate")
    script = tmp_path / "fit.py"
    script.write_text(SCRIPT)
    command = LAUNCHERS[launcher](_free_port(), script) + [
        no_dropout_bert,
        str(tmp_path),
        "1",
        "data-parallel",
    ]
    ranks = _run(command, tmp_path)
    assert len(ranks) == 2
    # the gradients were averaged: both processes hold the same weights
    assert ranks[0]["weights"] == ranks[1]["weights"]
    # the epoch's loss and samples count every process
    assert [h["n_samples"] for h in ranks[0]["history"]] == [160, 160]
    single, single_model = single_process_fit
    np.testing.assert_allclose(
        [h["train_loss"] for h in ranks[0]["history"]],
        [h["train_loss"] for h in single["history"]],
        rtol=1e-4,
    )

    # rank 0's pickle loads in a plain process and predicts as the single-process model
    model = joblib.load(tmp_path / "model.joblib")
    dev = load_wassa("dev").data["essay"].iloc[:60]
    got, want = model.predict(dev), single_model.predict(dev)
    assert np.corrcoef(got, want)[0, 1] > 0.999
    np.testing.assert_allclose(got, want, atol=1e-3 * np.std(want) + 1e-6)
    assert np.std(got) > 0  # a trained model, not a constant


def test_a_fit_inside_a_group_started_for_other_work_trains_alone(no_dropout_bert, tmp_path):
    """Without data_parallel() each process fits its own model on every batch."""
    script = tmp_path / "fit.py"
    script.write_text(SCRIPT)
    command = LAUNCHERS["torchrun"](_free_port(), script) + [
        no_dropout_bert,
        str(tmp_path),
        "2",
        "own-group",
    ]
    ranks = _run(command, tmp_path)
    assert len(ranks) == 2
    # every process saw all 160 essays in each epoch, as one process does alone
    assert [h["n_samples"] for h in ranks[0]["history"]] == [160, 160]
    assert [h["n_samples"] for h in ranks[1]["history"]] == [160, 160]
    assert ranks[0]["weights"] == ranks[1]["weights"]  # the same seed and data, no exchange


def test_data_parallel_true_outside_a_launcher_is_refused():
    from skempathy._engine._parallel import training_group

    assert training_group(None) is None
    assert training_group(False) is None
    with pytest.raises(ValueError, match="torchrun or accelerate launch"):
        training_group(True)
