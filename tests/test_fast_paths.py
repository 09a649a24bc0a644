"""The training loop's fast CPU paths: local to the model being trained, undone after."""

import threading
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skempathy._engine._fast_paths import (  # noqa: E402
    ATTENTION,
    fast_dropout,
    fast_training_paths,
)
from skempathy.datasets import load_wassa  # noqa: E402
from skempathy.neural import TransformerClassifier  # noqa: E402


def _model():
    return torch.nn.ModuleDict(
        {"body": torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.1))}
    )


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_masks_drop_with_probability_p_and_scale_what_they_keep(p, dtype):
    rng = np.random.Generator(np.random.SFC64(0))
    x = torch.ones(400, 1000, dtype=dtype)
    out = fast_dropout(x, p, rng)
    assert out.dtype == dtype and out.shape == x.shape
    kept = out[out != 0].float()
    # 400k draws: the standard error of the share kept is below 1e-3
    assert abs(len(kept) / x.numel() - (1 - p)) < 4e-3
    torch.testing.assert_close(kept, torch.full_like(kept, 1 / (1 - p)), rtol=1e-2, atol=0)


def test_masks_at_p_0_and_1_and_their_seed():
    rng = np.random.Generator(np.random.SFC64(0))
    x = torch.randn(300)
    assert fast_dropout(x, 0.0, rng) is x
    assert torch.equal(fast_dropout(x, 1.0, rng), torch.zeros_like(x))
    runs = [fast_dropout(x, 0.5, np.random.Generator(np.random.SFC64(s))) for s in (3, 3, 4)]
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])


def test_the_models_dropout_is_swapped_while_training_and_restored():
    model = _model()
    original = model["body"][1]
    with fast_training_paths(model, seed=0):
        swapped = model["body"][1]
        assert type(swapped).__name__ == "FastDropout" and swapped.p == 0.1
        model.train()
        out = model["body"](torch.ones(10_000, 4))
        assert 0.05 < float((out == 0).float().mean()) < 0.15
        model.eval()
        torch.testing.assert_close(
            model["body"](torch.ones(3, 4)), model["body"][0](torch.ones(3, 4))
        )
    assert model["body"][1] is original


def test_no_op_off_cpu_or_when_turned_off():
    model = _model()
    original = model["body"][1]
    for kwargs in ({"device": "cuda"}, {"enabled": False}):
        with fast_training_paths(model, **kwargs):
            assert model["body"][1] is original


def test_randomness_of_another_thread_is_unaffected_by_a_concurrent_fit(tiny_bert_path):
    """Masks drawn with their own seeded generator in a second thread while a fit runs in
    the first are the masks drawn without any fit."""

    def draw(i):
        generator = torch.Generator().manual_seed(i)
        return torch.empty(1000).bernoulli_(0.5, generator=generator)

    reference = [draw(i) for i in range(200)]
    frame = load_wassa("train").frame.iloc[:64]
    clf = TransformerClassifier(
        tiny_bert_path, max_epochs=2, batch_size=8, max_length=32, random_state=0
    )
    fit = threading.Thread(target=clf.fit, args=(frame["essay"], frame["emotion"]))
    fit.start()
    drawn, rounds = [], 0
    while fit.is_alive() or rounds == 0:  # at least 200 draws, all while the fit runs
        drawn.extend((i, draw(i)) for i in range(200))
        rounds += 1
    fit.join()
    assert hasattr(clf, "model_")  # the fit ran to the end
    different = sum(not torch.equal(mask, reference[i]) for i, mask in drawn)
    assert different == 0, f"{different} of {len(drawn)} masks changed"


def test_attention_runs_the_registered_function_while_training_and_is_restored(tiny_bert_path):
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(tiny_bert_path, attn_implementation="sdpa").eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_path)
    batch = tokenizer(
        ["a short one", "a much longer text with padding after it"],
        padding=True,
        return_tensors="pt",
    )
    wrapper = torch.nn.ModuleDict({"encoder": model})
    with torch.no_grad():
        sdpa = model(**batch).last_hidden_state
        with fast_training_paths(wrapper, seed=0):
            assert model.config._attn_implementation == ATTENTION
            fast = model(**batch).last_hidden_state
    assert model.config._attn_implementation == "sdpa"
    mask = batch["attention_mask"].bool()
    # the same arithmetic on every real token
    torch.testing.assert_close(sdpa[mask], fast[mask], atol=1e-5, rtol=1e-5)


def test_a_model_with_its_own_attention_code_keeps_it_without_a_warning(capfd):
    """MPNet (recipe ``best``'s encoder) writes its own attention: transformers cannot switch it,
    so only its dropout goes fast, and nothing is logged on every fit."""
    from transformers import MPNetConfig, MPNetModel

    config = MPNetConfig(
        vocab_size=64,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=40,
    )
    model = MPNetModel(config)
    implementation = model.config._attn_implementation
    with fast_training_paths(torch.nn.ModuleDict({"encoder": model}), seed=0):
        assert model.config._attn_implementation == implementation
        assert any(type(m).__name__ == "FastDropout" for m in model.modules())
        model.train()(torch.tensor([[0, 5, 6, 2]]))
    assert not any(type(m).__name__ == "FastDropout" for m in model.modules())
    assert "does not support setting its attention" not in capfd.readouterr().err


def test_gradient_checkpointing_is_refused_unless_the_fast_paths_are_off(tiny_bert_path):
    from transformers import AutoModel

    model = AutoModel.from_pretrained(tiny_bert_path)
    model.gradient_checkpointing_enable()
    with pytest.raises(ValueError, match="fast_paths=False"):
        with fast_training_paths(model, seed=0):
            pass
    with fast_training_paths(model, enabled=False):
        pass


def test_fine_tuning_is_reproducible_and_leaves_torch_as_it_was(tiny_bert_path):
    torch.manual_seed(0)
    before = torch.empty(1000).bernoulli_(0.5)
    frame = load_wassa("train").frame.iloc[:48]
    fits = []
    for fast_paths in (True, True, False, False):
        clf = TransformerClassifier(
            tiny_bert_path, max_epochs=1, batch_size=8, random_state=0, fast_paths=fast_paths
        )
        clf.fit(frame["essay"], frame["emotion"])
        fits.append(clf.predict_proba(frame["essay"]))
        assert clf.model_.encoder.config._attn_implementation == "sdpa"
        assert all(type(m).__name__ != "FastDropout" for m in clf.model_.modules())
    np.testing.assert_array_equal(fits[0], fits[1])
    np.testing.assert_array_equal(fits[2], fits[3])
    assert not np.array_equal(fits[0], fits[2])  # other masks: another fit
    torch.manual_seed(0)
    assert torch.equal(torch.empty(1000).bernoulli_(0.5), before)


@pytest.mark.filterwarnings("ignore:.*truncated:UserWarning")
def test_concurrent_fits_train_at_once_and_each_reproduces(tiny_bert_path):
    """On the fast paths a fit holds the seeding lock only while it builds its model: two fits
    in two threads train at the same time, and each equals the same fit run alone. Without the
    fast paths the model draws from torch's global generator and training keeps the lock."""
    from skempathy._engine import Callback

    frame = load_wassa("train").frame.iloc[:64]
    spans = {}

    class Span(Callback):
        def __init__(self, name):
            self.name = name

        def on_train_begin(self, n_batches):
            spans[self.name] = [time.perf_counter(), None]

        def on_epoch_end(self, record):
            spans[self.name][1] = time.perf_counter()

    class Timed(TransformerClassifier):
        def _fit_callbacks(self, data):
            return [Span(self.random_state)]

    def make(seed, fast_paths=True):
        return Timed(
            tiny_bert_path,
            max_epochs=2,
            batch_size=8,
            max_length=64,
            random_state=seed,
            fast_paths=fast_paths,
        )

    alone = [make(s).fit(frame["essay"], frame["emotion"]) for s in (0, 1)]
    together = [make(s) for s in (0, 1)]
    threads = [
        threading.Thread(target=m.fit, args=(frame["essay"], frame["emotion"])) for m in together
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (a0, a1), (b0, b1) = spans[0], spans[1]
    assert a0 < b1 and b0 < a1, "the two fits did not train at the same time"
    for one, other in zip(alone, together):
        np.testing.assert_array_equal(
            one.predict_proba(frame["essay"]), other.predict_proba(frame["essay"])
        )
    # torch's own dropout draws from the global generator: the probe sees it
    from skempathy._engine._seeding import draws_from_torch_rng

    slow = make(0, fast_paths=False).fit(frame["essay"], frame["emotion"])
    batch = {"input_ids": torch.ones((2, 5), dtype=torch.long)}
    batch["attention_mask"] = torch.ones((2, 5), dtype=torch.long)
    slow.model_.train()
    assert draws_from_torch_rng(lambda: slow.model_(batch["input_ids"], batch["attention_mask"]))
    with fast_training_paths(slow.model_, "cpu", seed=0):
        assert not draws_from_torch_rng(
            lambda: slow.model_(batch["input_ids"], batch["attention_mask"])
        )
