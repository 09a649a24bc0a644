"""What this machine is: the CPU line that every benchmark table prints, and ``show_versions``.

Speeds on CPU depend less on the core count than on the matrix instructions: bf16 autocast is
fast only with AVX512-BF16 or AMX, int8 only with VNNI (or AMX), and torch falls back to
emulation without them. So a number is reported with the CPU's name and these units.
"""

import os
import platform
import sys
from importlib import metadata

__all__ = ["cpu_summary", "show_versions"]

# /proc/cpuinfo flag -> name, in the order they are printed
_UNITS = {
    "avx2": "AVX2",
    "avx512f": "AVX-512",
    "avx512_vnni": "AVX512-VNNI",
    "avx_vnni": "AVX-VNNI",
    "avx512_bf16": "AVX512-BF16",
    "amx_bf16": "AMX-BF16",
    "amx_int8": "AMX-INT8",
}
_BF16_UNITS = ("avx512_bf16", "amx_bf16")
_DEPENDENCIES = (
    "numpy",
    "scipy",
    "scikit-learn",
    "pandas",
    "joblib",
    "torch",
    "transformers",
    "sentence-transformers",
    "onnxruntime",
    "model2vec",
    "skops",
    "openvino",
    "dask",
    "ray",
)


def _cpuinfo(path="/proc/cpuinfo"):
    """``(model name or None, set of flags)`` read from ``path`` (Linux); empty elsewhere."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None, set()
    name = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), None)
    flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
    return name, set(flags)


def cpu_summary(cpuinfo="/proc/cpuinfo"):
    """One line naming this CPU, its cores and the matrix units that set CPU speeds.

    Parameters
    ----------
    cpuinfo : str or path-like, default="/proc/cpuinfo"
        Where the CPU's name and flags are read (Linux). Elsewhere, the line gives what
        ``platform`` knows and says the units are unknown.

    Returns
    -------
    str
        E.g. ``"AMD EPYC, 2 cores; AVX2 yes, AVX-512 no, ..., AMX-INT8 no; bf16 units: none"``.

    Examples
    --------
    >>> from skempathy.utils import cpu_summary
    >>> "cores" in cpu_summary() and "bf16 units" in cpu_summary()
    True
    """
    name, flags = _cpuinfo(cpuinfo)
    name = name or platform.processor() or platform.machine() or "unknown CPU"
    line = f"{name}, {os.cpu_count()} cores"
    if not flags:
        return f"{line}; instruction sets unknown; bf16 units: unknown"
    units = ", ".join(
        f"{label} {'yes' if flag in flags else 'no'}" for flag, label in _UNITS.items()
    )
    bf16 = [_UNITS[flag] for flag in _BF16_UNITS if flag in flags]
    return f"{line}; {units}; bf16 units: {', '.join(bf16) or 'none'}"


def _version(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def show_versions():
    """Print the versions of skempathy, Python, its dependencies and this machine's CPU.

    Paste its output into a bug report; the CPU line tells which precisions are fast here.

    Examples
    --------
    >>> import skempathy
    >>> skempathy.show_versions()  # doctest: +ELLIPSIS
    <BLANKLINE>
    System:
            python: ...
    """
    from .. import __version__

    system = {
        "python": sys.version.replace("\n", " "),
        "executable": sys.executable,
        "machine": platform.platform(),
        "cpu": cpu_summary(),
    }
    packages = {"skempathy": __version__}
    packages.update({name: _version(name) or "not installed" for name in _DEPENDENCIES})
    for title, rows in (("System", system), ("Python dependencies", packages)):
        print(f"\n{title}:")
        width = max(map(len, rows))
        for key, value in rows.items():
            print(f"{key:>{width + 4}}: {value}")
