"""Train the restoration networks shipped with mosaicir and export them to ONNX.

One network per degradation, trained on pairs made by mosaicir's own degradation models from a
folder of clean natural images (``--data``, e.g. ``../shared/data/natural/LIVE1`` and friends; keep
the images you benchmark on out of it). Deterministic for a given ``--steps`` and ``--seed`` on
one device; ``--time-budget`` instead fixes the number of steps from the speed of the first steps.

    python -m train.restorers --degradation noise --data DIR --steps 2000 --out src/mosaicir/models
    python -m train.restorers --degradation all --data DIR --time-budget 120 --parallel 4 --out OUT

Writes ``OUT/<tool>.onnx``, ``OUT/<tool>.md`` (model card) and ``OUT/<tool>.log.json`` (loss log).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

from mosaicir.core.image import psnr
from mosaicir.core.names import DEGRADATIONS
from train.data import DegradationPairs, load_clean_images, load_real_pairs, pair_loader
from train.nets import ChromaRefineNet, RestorationUNet, TwoStageNet, count_parameters, export_onnx

#: Shipped tool name and network width per degradation.
NETWORKS: dict[str, tuple[str, int]] = {
    "noise": ("denoise_unet", 32),
    "motion_blur": ("deblur_motion_unet", 32),
    "defocus_blur": ("deblur_defocus_unet", 24),
    "haze": ("dehaze_unet", 24),
    "rain": ("derain_unet", 24),
    "low_light": ("enhance_unet", 24),
    "jpeg": ("dejpeg_unet", 32),
    "low_resolution": ("sr_unet", 24),
    "jpeg_chroma": ("dejpeg_chroma_unet", 16),
    "camera_noise": ("denoise_camera_unet", 16),
}
#: Networks trained on one degradation model with some of its settings changed: name -> (the
#: degradation, attribute -> value on its model). ``camera_noise`` sees only the camera's noise
#: (:func:`mosaicir.degrade.models.camera_noise`), at the low levels of real photographs.
VARIANTS: dict[str, tuple[str, dict[str, float]]] = {
    "camera_noise": ("noise", {"poisson_probability": 0.0, "camera_probability": 1.0}),
}
#: Second-stage networks: name -> (the degradation they train on, the shipped tool whose network
#: runs first, frozen). ``jpeg_chroma`` restores colour on the output of ``dejpeg_unet``.
REFINERS: dict[str, tuple[str, str]] = {"jpeg_chroma": ("jpeg", "dejpeg_unet")}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--degradation", default="all", help="a degradation name, a comma list, or 'all'")
    parser.add_argument("--data", nargs="+", required=True, help="folders of clean training images")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--steps", type=int, default=None, help="optimisation steps (deterministic)")
    parser.add_argument("--time-budget", type=float, default=None, help="seconds of training per network")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--width", type=int, default=None, help="network width (default: per degradation)")
    parser.add_argument("--workers", type=int, default=2, help="data-loading processes per network")
    parser.add_argument("--parallel", type=int, default=1, help="networks trained at once (separate processes)")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-side", type=int, default=384, help="longer side of the training images")
    parser.add_argument("--saturation", type=float, default=1.0,
                        help="colour boost of training patches, uniform in [1, S] (1 = none)")
    parser.add_argument("--severity", type=float, nargs=2, default=(0.1, 1.0), metavar=("LO", "HI"),
                        help="severities of the synthetic training pairs, uniform in [LO, HI]")
    parser.add_argument("--clean-fraction", type=float, default=0.1,
                        help="share of synthetic pairs left undegraded (teaches the network to leave clean content alone)")
    parser.add_argument("--texture-share", type=float, default=0.0,
                        help="share of patches with a band of dense texture from another image beside their own content")
    parser.add_argument("--pairs", nargs="*", default=[],
                        help="paired sets made by others (SET/input, SET/target matched by stem) to mix into training")
    parser.add_argument("--pairs-share", type=float, default=0.5, help="share of training patches cut from --pairs")
    parser.add_argument("--pairs-holdout", type=int, default=3,
                        help="every K-th pair of each set (by stem) is kept for validation, not training (0: none)")
    parser.add_argument("--then", nargs="*", default=[], metavar="NAME:P",
                        help="later degradations applied with probability P to both sides of a synthetic pair "
                             "(e.g. low_resolution:0.3 for a derainer that meets rain under low resolution)")
    parser.add_argument("--resume", action="store_true", help="start from OUT/<tool>.pt when it exists (fine-tuning)")
    parser.add_argument("--save-every", type=int, default=500,
                        help="write the checkpoint OUT/<tool>.pt every N steps, so that --resume fine-tunes from where a "
                             "killed run was (0: only at the end); SIGTERM or Ctrl-C stops after the step and exports as usual")
    parser.add_argument("--first-stage-dir", default=str(Path(__file__).resolve().parents[1] / "src" / "mosaicir" / "models"),
                        help="where the ONNX file of a refiner's first stage is read from (default: the shipped models)")
    args = parser.parse_args(argv)
    try:
        args.then = [(name, float(p)) for name, _, p in (spec.partition(":") for spec in args.then)]
    except ValueError:
        parser.error("--then takes NAME:PROBABILITY, e.g. low_resolution:0.3")
    for name, probability in args.then:
        if name not in DEGRADATIONS or not 0.0 < probability <= 1.0:
            parser.error(f"--then {name}:{probability}: a degradation name and a probability in (0, 1]")
    if (args.steps is None) == (args.time_budget is None):
        parser.error("give exactly one of --steps and --time-budget")
    return args


def selected(spec: str) -> list[str]:
    names = list(DEGRADATIONS) if spec == "all" else [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in NETWORKS]
    if unknown:
        raise SystemExit(f"error: unknown degradation(s) {unknown}; known: {', '.join(NETWORKS)}")
    return names


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    names = selected(args.degradation)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.parallel > 1 and len(names) > 1:
        run_parallel(args, names, argv if argv is not None else sys.argv[1:])
        return
    images = load_clean_images(args.data, max_side=args.max_side)
    if len(images) < 4:
        raise SystemExit(f"error: found {len(images)} usable images in {args.data}; need at least 4")
    stop = StopRequest()
    try:
        for name in names:
            train_one(name, images, args, out, stop)
            if stop.requested:
                print(f"stopped on request after {name}; not started: {', '.join(names[names.index(name) + 1:]) or 'none'}")
                break
    finally:
        stop.restore()


def run_parallel(args: argparse.Namespace, names: list[str], argv: list[str]) -> None:
    """Train ``args.parallel`` networks at a time, each in its own process."""
    groups = [names[i::args.parallel] for i in range(args.parallel)]
    base = [a for a in argv]
    for flag in ("--degradation", "--parallel"):
        while flag in base:
            index = base.index(flag)
            del base[index:index + 2]
    procs = [subprocess.Popen([sys.executable, "-m", "train.restorers", *base, "--degradation", ",".join(g), "--parallel", "1"])
             for g in groups if g]

    def forward(signum, frame) -> None:  # each child stops after its step and exports (see StopRequest)
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        codes = [p.wait() for p in procs]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if any(codes):
        raise SystemExit(f"error: a training process failed (exit codes {codes})")


def training_degradation(name: str) -> tuple[str, dict[str, float]]:
    """The degradation a network trains on and the settings changed on its model."""
    if name in REFINERS:
        return REFINERS[name][0], {}
    if name in VARIANTS:
        return VARIANTS[name]
    return name, {}


def pick_device(spec: str) -> torch.device:
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(spec)


def build_network(name: str, width: int, first_stage_dir: Path) -> torch.nn.Module:
    """The network trained for ``name``: a residual U-Net, or for a refiner the frozen shipped
    first stage followed by the refining network."""
    if name not in REFINERS:
        return RestorationUNet(width)
    _, first_tool = REFINERS[name]
    first = network_from_onnx(first_stage_dir / f"{first_tool}.onnx")
    for parameter in first.parameters():
        parameter.requires_grad_(False)
    return TwoStageNet(first.eval(), ChromaRefineNet(width))


def network_from_onnx(path: Path) -> RestorationUNet:
    """A ``RestorationUNet`` holding the weights of an exported one (width read from the file)."""
    if not path.is_file():
        raise SystemExit(f"error: first-stage network {path} not found")
    weights = onnx_weights(path)
    model = RestorationUNet(int(weights["enc1.0.weight"].shape[0]))
    load_onnx_weights(model, path, weights)
    return model


def train_one(name: str, images: list[np.ndarray], args: argparse.Namespace, out: Path,
              stop: "StopRequest | None" = None) -> dict:
    tool, width = NETWORKS[name]
    width = args.width or width
    degradation, settings = training_degradation(name)
    torch.manual_seed(args.seed)
    device = pick_device(args.device)
    torch.backends.cudnn.benchmark = device.type == "cuda"
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(images))
    n_val = max(2, len(images) // 20)
    val_images = [images[i] for i in order[:n_val]]
    train_images = [images[i] for i in order[n_val:]]
    real_train, real_val, real_val_names = load_real_pairs(args.pairs, args.pairs_holdout) if args.pairs else ([], [], [])
    dataset = DegradationPairs(train_images, degradation, patch=args.patch, seed=args.seed,
                               saturation=args.saturation, clean_fraction=args.clean_fraction, real_pairs=real_train, real_share=args.pairs_share,
                               severity_range=tuple(args.severity), model_settings=settings, then=tuple(args.then),
                               texture_share=args.texture_share)
    loader = pair_loader(dataset, args.batch, args.workers)
    model = build_network(name, width, Path(args.first_stage_dir))
    checkpoint = out / f"{tool}.pt"
    resumed_from = None
    if args.resume and checkpoint.is_file():
        state = torch.load(checkpoint, map_location="cpu")
        model.load_state_dict(state["model"])
        resumed_from = state.get("steps_total", 0)
    elif args.resume and (out / f"{tool}.onnx").is_file():
        resumed_from = load_onnx_weights(model, out / f"{tool}.onnx")
    model = model.to(device)
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=1e-4)
    use_bf16 = device.type == "cuda"
    log: list[dict] = []
    start = time.perf_counter()
    budget = StepBudget(args.steps, None if args.steps is not None else args.time_budget, start)
    step = 0
    running = 0.0
    stop = stop or StopRequest.never()
    for degraded, clean in loader:
        total_steps = budget.at(step)
        lr = args.lr * (step / 100 if step < 100 else 0.5 * (1 + math.cos(math.pi * step / max(total_steps or 10**9, 1))))
        for group in optimiser.param_groups:
            group["lr"] = max(lr, 1e-6)
        degraded, clean = degraded.to(device, non_blocking=True), clean.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            restored = model(degraded)
        loss = torch.nn.functional.l1_loss(restored.float(), clean)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        running += loss.detach()
        step += 1
        if step % 50 == 0:
            log.append({"step": step, "l1": round(float(running) / 50, 5), "seconds": round(time.perf_counter() - start, 2)})
            running = 0.0
        if args.save_every and step % args.save_every == 0:
            _save_checkpoint(model, checkpoint, step + (resumed_from or 0), width)
        if (total_steps is not None and step >= total_steps) or stop.requested:
            break
    if stop.requested:
        print(f"{name}: stopped on request after {step} steps", flush=True)
    seconds = time.perf_counter() - start
    model.eval().cpu()
    validation = validate(model, val_images, degradation, args.seed, settings)
    if real_val:
        validation["real"] = validate_real(model, real_val)
    onnx_path = out / f"{tool}.onnx"
    export_onnx(model, onnx_path, "restored")
    steps_total = step + (resumed_from or 0)
    _save_checkpoint(model, checkpoint, steps_total, width)
    record = {
        "tool": tool, "network": name, "degradation": degradation, "model_settings": settings, "first_stage": REFINERS[name][1] if name in REFINERS else None,
        "width": width, "parameters": count_parameters(model), "steps": step,
        "resumed_from_steps": resumed_from, "steps_total": steps_total, "stopped_early": stop.requested,
        "severity": list(args.severity), "batch": args.batch, "patch": args.patch, "clean_fraction": args.clean_fraction, "texture_share": args.texture_share, "then": [list(t) for t in args.then], "lr": args.lr, "saturation": args.saturation, "seed": args.seed, "seconds": round(seconds, 1),
        "device": torch.cuda.get_device_name(0) if device.type == "cuda" else platform.processor() or "cpu",
        "train_images": len(train_images), "validation": validation, "data": [str(d) for d in args.data],
        "pairs": [str(d) for d in args.pairs], "pairs_share": args.pairs_share if args.pairs else 0.0,
        "pairs_holdout": args.pairs_holdout, "real_train_pairs": len(real_train), "real_validation": real_val_names,
        "torch": torch.__version__, "log": log,
    }
    (out / f"{tool}.log.json").write_text(json.dumps(record, indent=1) + "\n")
    (out / f"{tool}.md").write_text(model_card(record))
    print(f"{name}: {step} steps in {seconds:.0f} s, validation {validation}", flush=True)
    return record


class StepBudget:
    """The step count of a run: ``steps`` as given, or, with a time budget of ``seconds``, fixed from
    the speed of steps 30-130 (after start-up) so that the run ends near ``seconds`` after ``start``
    (at most ``steps`` when both are given; at least 130)."""

    MEASURE_FROM, MEASURE_TO = 30, 130

    def __init__(self, steps: int | None, seconds: float | None, start: float) -> None:
        self.total, self.seconds, self.start, self._mark = steps, seconds, start, start

    def at(self, step: int) -> int | None:
        """The step count as known before ``step`` (None while a budget is still being measured)."""
        if self.seconds is not None and step == self.MEASURE_FROM:
            self._mark = time.perf_counter()
        elif self.seconds is not None and step == self.MEASURE_TO:
            now = time.perf_counter()
            per_step = (now - self._mark) / (self.MEASURE_TO - self.MEASURE_FROM)
            fixed = max(self.MEASURE_TO, self.MEASURE_TO + int((self.seconds - (now - self.start)) / per_step))
            self.total = fixed if self.total is None else min(self.total, fixed)
        return self.total


class StopRequest:
    """SIGTERM or SIGINT during training: the network in training finishes its step and is
    validated and exported as usual, and no further network starts. A second signal acts as it
    would without this (the handlers are put back at the first)."""

    def __init__(self, install: bool = True) -> None:
        self.requested = False
        self._previous = {}
        if install and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._request)

    @classmethod
    def never(cls) -> "StopRequest":
        return cls(install=False)

    def _request(self, signum, frame) -> None:
        self.requested = True  # only a flag here: printing from a signal handler can raise
        self.restore()

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}


def _save_checkpoint(model: torch.nn.Module, path: Path, steps_total: int, width: int) -> None:
    """The weights and the steps behind them, written atomically (a kill mid-write leaves the last one)."""
    tmp = path.with_suffix(".pt.tmp")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"model": state, "steps_total": steps_total, "width": width}, tmp)
    tmp.replace(path)


@torch.no_grad()
def validate(model: torch.nn.Module, images: list[np.ndarray], name: str, seed: int,
             settings: dict[str, float] | None = None) -> dict:
    """Mean PSNR before/after on held-out training-set patches at severities 0.25, 0.5, 0.75."""
    dataset = DegradationPairs(images, name, patch=128, clean_fraction=0.0, seed=seed + 1, model_settings=settings)
    rows = {}
    for severity in (0.25, 0.5, 0.75):
        dataset.severity_range = (severity, severity)
        rng = np.random.default_rng(seed + 7)
        before, after = [], []
        for _ in range(24):
            degraded, clean = dataset.pair(rng)
            restored = model(degraded[None]).clamp(0, 1)[0]
            c = clean.numpy().transpose(1, 2, 0)
            before.append(psnr(c, degraded.numpy().transpose(1, 2, 0)))
            after.append(psnr(c, restored.numpy().transpose(1, 2, 0)))
        rows[str(severity)] = {"psnr_before": round(float(np.mean(before)), 2), "psnr_after": round(float(np.mean(after)), 2)}
    return rows


@torch.no_grad()
def validate_real(model: torch.nn.Module, pairs: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    """Mean PSNR before/after on whole held-out real photographs (padded to a multiple of 4)."""
    before, after = [], []
    for degraded, clean in pairs:
        x = torch.from_numpy(degraded.transpose(2, 0, 1).astype(np.float32) / 255.0)[None]
        height, width = x.shape[2:]
        padded = torch.nn.functional.pad(x, (0, (-width) % 4, 0, (-height) % 4), mode="reflect")
        restored = model(padded).clamp(0, 1)[0, :, :height, :width].numpy().transpose(1, 2, 0)
        reference = clean.astype(np.float32) / 255.0
        before.append(psnr(reference, degraded.astype(np.float32) / 255.0))
        after.append(psnr(reference, np.round(restored * 255) / 255))
    return {"psnr_before": round(float(np.mean(before)), 2), "psnr_after": round(float(np.mean(after)), 2),
            "images": len(pairs)}


def onnx_weights(path: Path) -> dict[str, np.ndarray]:
    """The initialisers of an exported network by name (they keep the parameter names)."""
    import onnx
    from onnx import numpy_helper

    return {init.name: numpy_helper.to_array(init) for init in onnx.load(str(path)).graph.initializer}


def load_onnx_weights(model: torch.nn.Module, path: Path, weights: dict[str, np.ndarray] | None = None) -> int:
    """Load the weights of an exported network back into ``model`` (``weights``: already read from
    ``path``); returns the steps recorded in its log, if any."""
    weights = onnx_weights(path) if weights is None else weights
    state = model.state_dict()
    missing = [k for k in state if k not in weights]
    if missing:
        raise SystemExit(f"error: {path} does not match the network (missing {missing[:3]})")
    model.load_state_dict({k: torch.from_numpy(weights[k].copy()) for k in state})
    log = path.with_suffix(".log.json")
    if not log.is_file():
        return 0
    record = json.loads(log.read_text())
    return int(record.get("steps_total") or record["steps"])


def model_card(record: dict) -> str:
    base = (f"python -m train.restorers --degradation {record.get('network', record['degradation'])} --data {' '.join(record['data'])} "
            f"--batch {record['batch']} --patch {record['patch']} --width {record['width']} --out OUT"
            + (f" --saturation {record['saturation']}" if record.get("saturation", 1.0) != 1.0 else "")
            + (f" --severity {record['severity'][0]} {record['severity'][1]}" if tuple(record.get("severity", (0.1, 1.0))) != (0.1, 1.0) else "")
            + (f" --pairs {' '.join(record['pairs'])} --pairs-share {record['pairs_share']} --pairs-holdout {record['pairs_holdout']}"
               if record.get("pairs") else "")
            + (f" --texture-share {record['texture_share']}" if record.get("texture_share") else "")
            + (" --then " + " ".join(f"{n}:{p:g}" for n, p in record["then"]) if record.get("then") else ""))
    if record.get("resumed_from_steps"):
        recipe = (f"`{base} --steps {record['resumed_from_steps']}`, then fine-tuning "
                  f"`{base} --resume --lr {record['lr']} --steps {record['steps']}`")
    else:
        recipe = f"`{base} --lr {record['lr']} --steps {record['steps']}`"
    real = (f"\n- Real pairs: {record['real_train_pairs']} photographs of {', '.join(record['pairs'])} give "
            f"{100 * record['pairs_share']:.0f}% of the training patches; every {record['pairs_holdout']}th pair of each set "
            f"({len(record['real_validation'])}: {', '.join(record['real_validation'])}) is kept for the `real` validation row "
            f"(whole photographs).") if record.get("pairs") else ""
    val = "\n".join(f"| {s} | {v['psnr_before']} | {v['psnr_after']} | {v['psnr_after'] - v['psnr_before']:+.2f} |"
                    for s, v in record["validation"].items())
    if record.get("first_stage"):
        network = (f"Two networks in one file (`TwoStageNet` in `train/nets.py`): the shipped `{record['first_stage']}` (frozen),\n"
                   f"then a `ChromaRefineNet` (width {record['width']}) that changes only the colour (Cb, Cr) of its output,\n"
                   f"guided by the luminance; {record['parameters']:,} parameters in all. Input and output `1 x 3 x H x W`\n"
                   f"RGB in [0, 1] (H, W multiples of 4; the tool pads).")
    else:
        network = (f"A three-level residual U-Net (`train/nets.py`, width {record['width']},\n"
                   f"{record['parameters']:,} parameters), input and output `1 x 3 x H x W` RGB in [0, 1] (H, W multiples of 4;\n"
                   f"the tool pads).")
    return f"""# {record['tool']}

Restores `{record['degradation']}`. {network}

- Data: clean natural images from {', '.join(record['data'])} ({record['train_images']} images for training,
  longer side at most 384 px){', colour boosted by a factor U(1, ' + str(record['saturation']) + ')' if record.get('saturation', 1.0) != 1.0 else ''}, degraded on the fly by `mosaicir.degrade` at severities U({record.get('severity', (0.1, 1.0))[0]}, {record.get('severity', (0.1, 1.0))[1]}), {round(100 * record.get('clean_fraction', 0.1))}% left clean{'; then, on both sides: ' + ', '.join(f'{n} with probability {p:g}' for n, p in record['then']) if record.get('then') else ''}.{real}
- Training{' of the second stage' if record.get('first_stage') else ''}: {record['steps']} steps{' (fine-tuning after ' + str(record['resumed_from_steps']) + ' earlier steps)' if record.get('resumed_from_steps') else ''} of batch {record['batch']}, {record['patch']}x{record['patch']} patches, AdamW lr {record['lr']}
  with warm-up and cosine decay, L1 loss, seed {record['seed']}; {record['seconds']} s on {record['device']}{(' (' + record['note'] + ')') if record.get('note') else ''}
  (torch {record['torch']}).
- Recipe: {recipe}.

Validation on held-out patches of the training folders (mean PSNR, dB):

| severity | before | after | gain |
| --- | --- | --- | --- |
{val}

Gains on the benchmark images are in `docs/TOOLS.md` (`mosaicir bench tools`).
"""


if __name__ == "__main__":
    main()
