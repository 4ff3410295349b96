"""What runs the networks: ONNX Runtime sessions and the folder of the shipped weights
(:mod:`mosaicir.runtime.onnx`), and tiled processing with overlap and feathering
(:mod:`mosaicir.runtime.tiling`). Above :mod:`mosaicir.core`, below everything else."""

from mosaicir.runtime.onnx import models_dir, onnx_session
from mosaicir.runtime.tiling import feather_ramp, pad_to_multiple, process_tiled

__all__ = ["feather_ramp", "models_dir", "onnx_session", "pad_to_multiple", "process_tiled"]
