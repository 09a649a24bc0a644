"""Export fitted models to ONNX and run them on onnxruntime.

:func:`to_onnx` writes a fine-tuned estimator of :mod:`skempathy.neural` or a
frozen :class:`~skempathy.text.SentenceEmbedder` /
:class:`~skempathy.text.TransformerEmbedder` as an ONNX folder (optionally
int8-quantized: dynamic, or static with activation ranges calibrated on texts
and the most sensitive layers kept in fp32); :class:`OnnxPredictor` loads it and
answers with the estimator's own API, without torch. Needs the ``onnx`` extra
(``pip install "skempathy[onnx]"``).
"""

from ._onnx import OnnxPredictor, to_onnx

__all__ = ["OnnxPredictor", "to_onnx"]
