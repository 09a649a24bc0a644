"""The CPU line of benchmark tables and ``show_versions``."""

from importlib import metadata

import skempathy
from skempathy.neural import cpu_has_fast_bf16
from skempathy.utils import cpu_summary

_XEON = """processor\t: 0
model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
flags\t\t: fpu sse2 avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8
"""
_EPYC = """processor\t: 0
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse2 avx2 fma
"""


def test_the_cpu_line_names_the_cpu_and_its_matrix_units(tmp_path):
    (tmp_path / "xeon").write_text(_XEON)
    (tmp_path / "epyc").write_text(_EPYC)
    xeon = cpu_summary(tmp_path / "xeon")
    assert xeon.startswith("Intel(R) Xeon(R) Platinum 8481C")
    assert "AVX512-VNNI yes" in xeon and "AMX-INT8 yes" in xeon and "AVX-VNNI no" in xeon
    assert xeon.endswith("bf16 units: AVX512-BF16, AMX-BF16")
    epyc = cpu_summary(tmp_path / "epyc")
    assert epyc.startswith("AMD EPYC 7B13") and "AVX2 yes" in epyc and "AVX-512 no" in epyc
    assert epyc.endswith("bf16 units: none")
    assert cpu_summary(tmp_path / "missing").endswith(
        "instruction sets unknown; bf16 units: unknown"
    )


def test_the_cpu_line_of_this_machine_agrees_with_torch():
    line = cpu_summary()
    if "unknown" not in line:  # torch sees bf16 matrix units exactly where the flags show them
        assert line.endswith("bf16 units: none") != cpu_has_fast_bf16()


def test_show_versions_prints_the_packages_and_the_cpu(capsys):
    skempathy.show_versions()
    out = capsys.readouterr().out
    assert f"skempathy: {skempathy.__version__}" in out
    assert f"torch: {metadata.version('torch')}" in out
    assert f"cpu: {cpu_summary()}" in out
