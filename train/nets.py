"""Small fully-convolutional restoration networks (PyTorch, training only).

``RestorationUNet``: a three-level U-Net (Ronneberger et al. 2015) with residual output
(predicts ``clean - degraded``, as DnCNN does), GELU-free plain ReLU convolutions so that ONNX
Runtime runs it fast on a CPU. Input and output ``N x 3 x H x W`` in [0, 1], H and W multiples of 4.
A global-context branch (mean-pooled features broadcast back, as in squeeze-and-excitation)
lets the network see image-wide quantities such as airlight or exposure.
"""

from __future__ import annotations

import torch
from torch import nn


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(inplace=True),
    )


class RestorationUNet(nn.Module):
    def __init__(self, width: int = 32, depth_blocks: int = 2) -> None:
        super().__init__()
        w1, w2, w3 = width, width * 2, width * 4
        self.enc1 = _block(3, w1)
        self.enc2 = _block(w1, w2)
        self.enc3 = nn.Sequential(*[_block(w2 if i == 0 else w3, w3) for i in range(depth_blocks)])
        self.context = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(w3, w3, 1), nn.ReLU(inplace=True), nn.Conv2d(w3, w3, 1))
        self.down = nn.MaxPool2d(2)
        self.up3 = nn.ConvTranspose2d(w3, w2, 2, stride=2)
        self.dec2 = _block(w2 * 2, w2)
        self.up2 = nn.ConvTranspose2d(w2, w1, 2, stride=2)
        self.dec1 = _block(w1 * 2, w1)
        self.head = nn.Conv2d(w1, 3, 3, padding=1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``N x width x H x W`` features of the last decoder level."""
        e1 = self.enc1(x)
        e2 = self.enc2(self.down(e1))
        e3 = self.enc3(self.down(e2))
        e3 = e3 + self.context(e3)
        d2 = self.dec2(torch.cat([self.up3(e3), e2], dim=1))
        return self.dec1(torch.cat([self.up2(d2), e1], dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.head(self.features(x))


#: RGB -> (Y - 0.5, Cb, Cr) of JPEG (ITU-R BT.601, full range), and (Cb, Cr) -> RGB.
RGB_TO_YCC = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
CHROMA_TO_RGB = torch.tensor([[0.0, 1.402], [-0.344136, -0.714136], [1.772, 0.0]])


class ChromaRefineNet(RestorationUNet):
    """Colour from luminance: the U-Net sees the image as JPEG's Y, Cb, Cr and changes only Cb and
    Cr (luminance is kept exactly), so that colour edges follow the edges of the full-resolution
    luminance again where 4:2:0 subsampling and the coarse quantisation of chroma smeared them.
    Input and output ``N x 3 x H x W`` RGB in [0, 1], H and W multiples of 4."""

    def __init__(self, width: int = 16, depth_blocks: int = 2) -> None:
        super().__init__(width, depth_blocks)
        self.head = nn.Conv2d(width, 2, 3, padding=1)
        self.register_buffer("rgb_to_ycc", RGB_TO_YCC.clone().view(3, 3, 1, 1), persistent=False)
        self.register_buffer("chroma_to_rgb", CHROMA_TO_RGB.clone().view(3, 2, 1, 1), persistent=False)
        self.register_buffer("ycc_offset", torch.tensor([0.5, 0.0, 0.0]).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ycc = nn.functional.conv2d(x, self.rgb_to_ycc) - self.ycc_offset
        chroma = self.head(self.features(ycc))
        return x + nn.functional.conv2d(chroma, self.chroma_to_rgb)


class TwoStageNet(nn.Module):
    """``second(first(x))``: a refinement network run on the output of another (the first stage
    is frozen while the second trains)."""

    def __init__(self, first: nn.Module, second: nn.Module) -> None:
        super().__init__()
        self.first, self.second = first, second

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(self.first(x))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def export_onnx(model: nn.Module, path, output_name: str, same_size: bool = True) -> None:
    """Export a fully-convolutional network taking ``image`` (``N x 3 x H x W``) with dynamic batch,
    height and width; the output keeps the input's height and width when ``same_size``."""
    dims = ("height", "width") if same_size else (f"{output_name}_height", f"{output_name}_width")
    torch.onnx.export(
        model, torch.rand(1, 3, 64, 64), str(path), input_names=["image"], output_names=[output_name],
        dynamic_axes={"image": {0: "n", 2: "height", 3: "width"}, output_name: {0: "n", 2: dims[0], 3: dims[1]}},
        opset_version=17, dynamo=False,
    )


class DegradationMapNet(nn.Module):
    """Fully-convolutional perception network: ``N x 3 x H x W`` RGB in [0, 1] (H, W multiples
    of 32) -> ``N x 2D x H/8 x W/8`` per 8 x 8 cell, in [0, 1]: the presence probability of each of
    the D degradations, then its severity.

    A full-resolution stem keeps the finest cues (noise grain, 8 x 8 JPEG block edges: the
    stride-2 stages stay in phase with the JPEG grid); the encoder goes down to 1/32 with a
    global-context branch (image-wide quantities: exposure, airlight), and a top-down path (as in
    feature pyramid networks) brings that context back to the 1/8 cell grid, so that a cell is
    judged against its surroundings (a darkened region against its neighbours). Batch
    normalisation after every convolution (folded into the convolutions on export).
    """

    def __init__(self, outputs: int = 8, width: int = 16) -> None:
        super().__init__()
        w1, w2, w3, w4, w5 = width, width * 3 // 2, width * 2, width * 4, width * 6

        def conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
                                 nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

        self.stem = conv(3, w1)
        self.down8 = nn.Sequential(conv(w1, w2, 2), conv(w2, w2), conv(w2, w3, 2), conv(w3, w3), conv(w3, w4, 2))
        self.down16 = nn.Sequential(conv(w4, w4, 2), conv(w4, w4))
        self.down32 = nn.Sequential(conv(w4, w5, 2), conv(w5, w5, dilation=2))
        self.context_global = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(w5, w5, 1), nn.ReLU(inplace=True), nn.Conv2d(w5, w5, 1))
        self.lateral32 = nn.Conv2d(w5, w4, 1)
        self.merge16 = conv(w4, w4)
        self.merge8 = nn.Sequential(conv(w4, w4), conv(w4, w4, dilation=2))
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.head = nn.Sequential(nn.Conv2d(w4 * 2, w4, 1), nn.ReLU(inplace=True), nn.Conv2d(w4, 2 * outputs, 1))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        f8 = self.down8(self.stem(x - 0.5))
        f16 = self.down16(f8)
        f32 = self.down32(f16)
        f32 = f32 + self.context_global(f32)
        t16 = self.merge16(f16 + self.up(self.lateral32(f32)))
        t8 = self.merge8(f8 + self.up(t16))
        return self.head(torch.cat([f8, t8], dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(x))
