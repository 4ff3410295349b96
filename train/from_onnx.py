"""A training checkpoint rebuilt from a shipped ONNX network, so that training can resume from
what was shipped when its ``.pt`` checkpoint is gone (checkpoints stay out of git).

The export folds every batch normalisation into the convolution before it. The rebuilt network
puts the folded weights back into each convolution and sets its batch normalisation to the
statistics that convolution's outputs have on sample images (``--images``), with a scale and
shift that undo them: in evaluation mode the network computes exactly what the ONNX file does,
and in training mode, where a batch's own statistics replace the stored ones, nearly so.
The ONNX convolutions are matched to the network's in the order the forward pass runs them, each
checked for its shape, stride, dilation, padding and groups; those exported under their own names
(no normalisation after them) must carry their module's name.

    python -m train.from_onnx --net perception --onnx src/mosaicir/models/perception_mapnet.onnx \\
        --images data/perception/mosaic-100/degraded --out runs/percept7/perception_mapnet.pt
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from mosaicir.io import iter_image_files, load_image
from train.nets import DegradationMapNet

#: The networks this rebuilds: name -> constructor from the width.
NETS = {"perception": lambda width: DegradationMapNet(width=width)}


def conv_order(model: nn.Module, sample: torch.Tensor) -> list[str]:
    """Names of the ``Conv2d`` modules in the order the forward pass runs them."""
    order: list[str] = []
    hooks = [module.register_forward_hook(lambda m, i, o, name=name: order.append(name))
             for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]
    with torch.no_grad():
        model(sample)
    for hook in hooks:
        hook.remove()
    return order


def batch_norm_after(model: nn.Module) -> dict[str, nn.BatchNorm2d]:
    """``{conv name: the BatchNorm2d that follows it}`` for the ``Sequential(conv, bn, ...)`` blocks."""
    pairs = {}
    for name, module in model.named_modules():
        if isinstance(module, nn.Sequential):
            children = list(module.named_children())
            for (a, first), (_, second) in zip(children, children[1:]):
                if isinstance(first, nn.Conv2d) and isinstance(second, nn.BatchNorm2d):
                    pairs[f"{name}.{a}" if name else a] = second
    return pairs


def _attributes(node) -> dict[str, list[int]]:
    return {a.name: list(a.ints) or [a.i] for a in node.attribute if a.name in ("strides", "dilations", "pads", "group")}


def rebuild(model: nn.Module, onnx_path: Path, images: list[np.ndarray], tolerance: float = 1e-3) -> float:
    """Load the ONNX weights into ``model`` (in place); returns the largest difference between
    the two networks' outputs on ``images`` (``h x w x 3`` in [0, 1], one size), and raises
    ``SystemExit`` when a convolution does not match or that difference exceeds ``tolerance``."""
    graph = onnx.load(str(onnx_path)).graph
    if any(node.op_type == "BatchNormalization" for node in graph.node):
        raise SystemExit(f"error: {onnx_path} keeps batch normalisations: this rebuilds folded ones only")
    weights = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    convs = [node for node in graph.node if node.op_type == "Conv"]
    batch = torch.from_numpy(np.stack([img.transpose(2, 0, 1) for img in images])).float()
    order = conv_order(model.eval(), batch[:1])
    if len(order) != len(convs):
        raise SystemExit(f"error: {onnx_path} has {len(convs)} convolutions, the network {len(order)}")
    modules = dict(model.named_modules())
    norms = batch_norm_after(model)
    unpaired = [n for n, m in modules.items() if isinstance(m, nn.BatchNorm2d) and m not in norms.values()]
    if unpaired:
        raise SystemExit(f"error: batch normalisations not right after a convolution: {', '.join(unpaired)}")
    for name, node in zip(order, convs):
        conv = modules[name]
        weight = np.array(weights[node.input[1]])
        expected = {"strides": list(conv.stride), "dilations": list(conv.dilation), "group": [conv.groups],
                    "pads": [conv.padding[0], conv.padding[1], conv.padding[0], conv.padding[1]]}
        found = _attributes(node)
        if tuple(conv.weight.shape) != weight.shape or any(found.get(k, v) != v for k, v in expected.items()):
            raise SystemExit(f"error: {name} {tuple(conv.weight.shape)} {expected} does not match {node.name} "
                             f"{weight.shape} {found} of {onnx_path}")
        if name not in norms and node.input[1] != f"{name}.weight":
            raise SystemExit(f"error: {name} has no normalisation, but {onnx_path} names its weights {node.input[1]}")
        bias = np.array(weights[node.input[2]]) if len(node.input) > 2 else np.zeros(weight.shape[0], np.float32)
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(weight))
            if name in norms:
                norms[name].bias.copy_(torch.from_numpy(bias))  # scale and statistics set below
                if conv.bias is not None:
                    conv.bias.zero_()
            elif conv.bias is not None:
                conv.bias.copy_(torch.from_numpy(bias))
            elif np.any(bias):
                raise SystemExit(f"error: {name} has a bias in {onnx_path} but neither a bias nor a normalisation here")
    # every normalisation the identity plus the folded bias; then, one at a time in the forward
    # order (so that each sees inputs as the ONNX network makes them), the statistics of its
    # convolution's output, with a scale and shift that undo them
    for norm in norms.values():
        norm.reset_running_stats()
        norm.running_var.fill_(1.0 - norm.eps)
        norm.weight.data.fill_(1.0)
    for name in order:
        if name not in norms:
            continue
        norm, outputs = norms[name], []
        hook = modules[name].register_forward_hook(lambda m, i, o: outputs.append(o.detach()))
        with torch.no_grad():
            model(batch)
        hook.remove()
        values = torch.cat([o.transpose(0, 1).reshape(o.shape[1], -1) for o in outputs], dim=1)
        mean, var = values.mean(dim=1), values.var(dim=1, unbiased=False)
        with torch.no_grad():
            shift = norm.bias.clone()
            norm.running_mean.copy_(mean)
            norm.running_var.copy_(var)
            norm.weight.copy_(torch.sqrt(var + norm.eps))
            norm.bias.copy_(mean + shift)
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ours = model.eval()(batch).numpy()
    theirs = session.run(None, {session.get_inputs()[0].name: batch.numpy()})[0]
    difference = float(np.abs(ours - theirs).max())
    if difference > tolerance:
        raise SystemExit(f"error: the rebuilt network differs from {onnx_path} by {difference:.2g}")
    return difference


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--net", choices=sorted(NETS), required=True)
    parser.add_argument("--onnx", required=True)
    parser.add_argument("--images", nargs="+", required=True, help="folders of sample images for the statistics")
    parser.add_argument("--out", required=True, help="the checkpoint to write (.pt)")
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--samples", type=int, default=16, help="sample crops")
    parser.add_argument("--side", type=int, default=192, help="crop side, a multiple of 32")
    parser.add_argument("--steps-total", type=int, default=0, help="training steps the shipped network had")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    paths = sorted(iter_image_files(args.images, recursive=True))
    if not paths:
        raise SystemExit(f"error: no images under {' '.join(args.images)}")
    crops = []
    for index in rng.choice(len(paths), size=min(args.samples, len(paths)), replace=False):
        image = load_image(paths[int(index)]).image
        if min(image.shape[:2]) < args.side:
            continue
        y = int(rng.integers(image.shape[0] - args.side + 1)) // 16 * 16
        x = int(rng.integers(image.shape[1] - args.side + 1)) // 16 * 16
        crops.append(np.ascontiguousarray(image[y:y + args.side, x:x + args.side]))
    model = NETS[args.net](args.width)
    difference = rebuild(model, Path(args.onnx), crops)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict(), "steps_total": args.steps_total, "width": args.width,
                "rebuilt_from": f"`{args.onnx}`"}, args.out)
    print(json.dumps({"out": args.out, "crops": len(crops), "largest_difference": difference}))


if __name__ == "__main__":
    main()
