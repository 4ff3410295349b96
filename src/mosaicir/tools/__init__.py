"""Restoration tools: one module per degradation family, registered by name.

``get_tool(name)``, ``tools_for(degradation)`` and ``TOOL_REGISTRY`` give access; third-party tools
plug in through the ``mosaicir.tools`` entry-point group.
"""

from mosaicir.tools.base import TOOL_REGISTRY, Tool, ToolParams, get_tool, register_tool, tools_for
from mosaicir.tools.blur import DeblurDefocusNet, DeblurMotionNet, DeconvMotion, WienerDefocus, WienerMotion
from mosaicir.tools.haze import DarkChannelDehaze, DehazeNet
from mosaicir.tools.jpeg import Deblock, DejpegNet
from mosaicir.tools.learned import OnnxRestorer, onnx_tool
from mosaicir.tools.light import AdaptiveGamma, EnhanceNet, Lime
from mosaicir.tools.noise import DenoiseCameraNet, DenoiseNet, DenoiseNetEnsemble, NLMeans
from mosaicir.tools.rain import DerainNet, RainMorphology
from mosaicir.tools.resolution import GuidedSharpen, SuperResolutionNet

for _tool in (
    NLMeans, DenoiseNet, DenoiseNetEnsemble, DenoiseCameraNet,
    DeconvMotion, WienerMotion, DeblurMotionNet, WienerDefocus, DeblurDefocusNet,
    DarkChannelDehaze, DehazeNet,
    RainMorphology, DerainNet,
    AdaptiveGamma, Lime, EnhanceNet,
    Deblock, DejpegNet,
    GuidedSharpen, SuperResolutionNet,
):
    register_tool(_tool)

__all__ = ["TOOL_REGISTRY", "OnnxRestorer", "Tool", "ToolParams", "get_tool", "onnx_tool", "register_tool", "tools_for"]
