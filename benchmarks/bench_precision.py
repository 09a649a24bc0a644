"""Training-step time of a transformer in fp32 vs bf16 autocast (``precision``), on this machine.

Times full training steps (forward, backward, AdamW step) of the encoder of
``--model`` on random token ids, ``--batch-size`` x ``--length`` tokens, the way
the fine-tuned estimators run them: ``torch.autocast`` in bf16, fp32 master weights. On
CPU, ``precision="bf16"`` uses bf16 matrix units where the CPU has them (Intel
AMX, AVX512-BF16); ``"auto"`` is fp32 there. The first ``--warmup`` steps of
each precision are not timed; the two precisions alternate so that a change in
machine load hits both. Run::

    python benchmarks/bench_precision.py --model all-mpnet-base-v2
    python benchmarks/bench_precision.py --model all-MiniLM-L6-v2
"""

import argparse
import statistics
import sys
import time


def main(argv=None):
    import torch
    from transformers import AutoModel

    from skempathy.base import resolve_device, resolve_model

    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--model", default="all-mpnet-base-v2")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--length", type=int, default=128, help="tokens per text")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per precision and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    from skempathy.utils import cpu_summary

    print(f"Machine: {cpu_summary()}", flush=True)

    device = resolve_device(args.device)
    torch.manual_seed(0)
    model = AutoModel.from_pretrained(resolve_model(args.model)).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    ids = torch.randint(5, 1000, (args.batch_size, args.length), device=device)
    mask = torch.ones_like(ids)

    def step(precision):
        device_type = str(device).split(":")[0]
        autocast = torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == "bf16")
        tic = time.perf_counter()
        with autocast:
            loss = model(input_ids=ids, attention_mask=mask).last_hidden_state.float().pow(2).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if str(device).startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - tic

    precisions = ("fp32", "bf16")
    times = {p: [] for p in precisions}
    for p in precisions:
        for _ in range(args.warmup):
            step(p)
    for _ in range(args.rounds):
        for p in precisions:
            times[p] += [step(p) for _ in range(args.steps)]
    print(
        f"{args.model}, batch {args.batch_size} x {args.length} tokens, device {device}, "
        f"{torch.get_num_threads()} threads, {len(times['fp32'])} timed steps each"
    )
    print("| precision | median s / step | min s / step | texts / s | speed-up |")
    print("|---|---|---|---|---|")
    base = statistics.median(times["fp32"])
    for p in precisions:
        median = statistics.median(times[p])
        print(
            f"| {p} | {median:.2f} | {min(times[p]):.2f} | {args.batch_size / median:.1f} "
            f"| {base / median:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
