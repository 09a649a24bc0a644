"""The training loop's faster CPU kernels: dropout masks from NumPy, eager attention."""

import threading

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skempathy.datasets import load_wassa  # noqa: E402
from skempathy.neural import TransformerClassifier  # noqa: E402
from skempathy.neural._cpu_kernels import cpu_training_kernels  # noqa: E402


def _torch_masks(seed=0, n=1000):
    torch.manual_seed(seed)
    return torch.empty(n).bernoulli_(0.5)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_masks_keep_with_probability_p(p):
    with cpu_training_kernels(torch.nn.Linear(2, 2)):
        for dtype in (torch.float32, torch.bfloat16):
            mask = torch.empty(400, 1000, dtype=dtype).bernoulli_(p)
            assert mask.dtype == dtype and mask.shape == (400, 1000)
            assert set(torch.unique(mask).tolist()) == {0.0, 1.0}
            # 400k draws: the standard error of the mean is below 1e-3
            assert abs(float(mask.float().mean()) - p) < 4e-3


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
def test_masks_at_p_0_and_1_and_on_strided_tensors(dtype):
    with cpu_training_kernels(torch.nn.Linear(2, 2)):
        for p in (0.0, 1.0):
            for tensor in (torch.empty(300, dtype=dtype), torch.empty(20, 30, dtype=dtype).t()):
                assert torch.equal(tensor.bernoulli_(p), torch.full_like(tensor, p))
        strided = torch.empty(400, 500, dtype=dtype).t().bernoulli_(0.25)
        assert abs(float(strided.float().mean()) - 0.25) < 5e-3
        with pytest.raises((ValueError, RuntimeError), match="p to be in"):
            torch.empty(3, dtype=dtype).bernoulli_(1.5)
        with pytest.raises((ValueError, RuntimeError), match="p to be in"):
            torch.empty(3, dtype=dtype).bernoulli_(1.5, generator=torch.Generator())


def test_dropout_inside_the_scope_scales_kept_values():
    x = torch.ones(200_000)
    with cpu_training_kernels(torch.nn.Linear(2, 2)):
        out = torch.nn.functional.dropout(x, p=0.1, training=True)
    kept = out[out != 0]
    assert torch.allclose(kept, torch.full_like(kept, 1 / 0.9))
    assert abs(len(kept) / len(x) - 0.9) < 5e-3


def test_masks_follow_torch_seed_and_torch_kernel_is_back_after():
    before = _torch_masks()
    runs = []
    for seed in (0, 0, 1):
        torch.manual_seed(seed)
        with cpu_training_kernels(torch.nn.Linear(2, 2)):
            runs.append(torch.empty(1000).bernoulli_(0.5))
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])
    # the numpy draws are not torch's stream
    assert not torch.equal(runs[0], before)
    assert torch.equal(_torch_masks(), before)


def test_nested_scopes_keep_the_kernel_until_the_outer_one_ends():
    before = _torch_masks()
    with cpu_training_kernels(torch.nn.Linear(2, 2)):
        with cpu_training_kernels(torch.nn.Linear(2, 2)):
            pass
        torch.manual_seed(0)
        inside = torch.empty(1000).bernoulli_(0.5)
        assert not torch.equal(inside, before)
    assert torch.equal(_torch_masks(), before)


def test_own_generator_and_other_threads_get_valid_masks():
    results = {}

    def other_thread():
        results["thread"] = torch.empty(100_000).bernoulli_(0.3)

    with cpu_training_kernels(torch.nn.Linear(2, 2)):
        masks = [
            torch.empty(100_000).bernoulli_(0.3, generator=torch.Generator().manual_seed(3))
            for _ in range(2)
        ]
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert torch.equal(masks[0], masks[1])  # the caller's generator decides
    for mask in (masks[0], results["thread"]):
        assert abs(float(mask.mean()) - 0.3) < 1e-2


def test_no_op_off_cpu():
    before = _torch_masks()
    with cpu_training_kernels(torch.nn.Linear(2, 2), device="cuda"):
        assert torch.equal(_torch_masks(), before)


def test_attention_is_eager_while_training_and_restored(tiny_bert_path):
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
        with cpu_training_kernels(wrapper):
            assert model.config._attn_implementation == "eager"
            eager = model(**batch).last_hidden_state
    assert model.config._attn_implementation == "sdpa"
    mask = batch["attention_mask"].bool()
    # the same arithmetic on every real token
    assert torch.allclose(sdpa[mask], eager[mask], atol=1e-5)


def test_fine_tuning_is_reproducible_and_leaves_torch_as_it_was(tiny_bert_path):
    before = _torch_masks()
    frame = load_wassa("train").frame.iloc[:48]
    fits = []
    for _ in range(2):
        clf = TransformerClassifier(tiny_bert_path, max_epochs=1, batch_size=8, random_state=0)
        clf.fit(frame["essay"], frame["emotion"])
        fits.append(clf)
    np.testing.assert_array_equal(
        fits[0].predict_proba(frame["essay"]), fits[1].predict_proba(frame["essay"])
    )
    assert fits[0].model_.encoder.config._attn_implementation == "sdpa"
    assert torch.equal(_torch_masks(), before)
