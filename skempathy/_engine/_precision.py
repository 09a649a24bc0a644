"""Autocast for a device and a precision."""

import contextlib
import warnings

from .._models import cpu_has_fast_bf16


def autocast_for(device, precision):
    """Autocast context + whether a GradScaler is needed, for ``precision``.

    On CUDA ``"auto"`` is bf16 where supported, else fp16 with a GradScaler. On
    CPU only an explicit ``"bf16"`` autocasts: it is about 3x faster on CPUs with
    bf16 matrix units (Intel AMX / AVX512-BF16) but changes the numbers, so
    ``"auto"`` keeps CPU fits in fp32 (and reproducible against fp32 results);
    fp16 has no fast CPU kernels and computes in fp32 there. ``"bf16"`` on a
    CPU without bf16 units is honoured, with a warning: it is much slower.
    """
    import torch

    device_type = str(device).split(":")[0]
    if device_type == "cpu" and precision == "bf16":
        if not cpu_has_fast_bf16():
            warnings.warn(
                "precision='bf16' on a CPU without bf16 matrix units (Intel AMX or "
                "AVX512-BF16): torch emulates bf16 there, and a training step is "
                "about 16x slower than in fp32. Use precision='auto' (fp32 on CPU).",
                UserWarning,
                stacklevel=3,
            )
        return torch.autocast("cpu", dtype=torch.bfloat16), False
    if device_type != "cuda" or precision == "fp32":
        return contextlib.nullcontext(), False
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast("cuda", dtype=dtype), dtype == torch.float16
