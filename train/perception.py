"""Train the perception network (``perception_mapnet``): where each degradation is, how strong.

Data: benchmark folders made by mosaicir's own generator from clean natural images (``--data``):
``--mosaic-sets`` draws of the ``mosaic`` suite (spatially varying), the ``mio-a/b/c`` suites
(whole-image combinations) on ``--mio-n`` images, and the ``clean`` suite; they are generated
into ``--cache`` on first use. Targets are the generator's per-pixel severity labels averaged
over 8 x 8 cells. A separate draw (``mosaic`` and ``clean`` at seed ``--seed + 100``) is the
validation set on which the presence threshold of every degradation is chosen (maximum pixel
F1), for the network and for the classical estimators, and on which the better of the two is
picked per degradation. The benchmark images (McMaster, CSet14) stay out of ``--data``.

    python -m train.perception --data ../shared/data/natural/LIVE1 ../shared/data/natural/CSun_Hays80 \\
        ../shared/data/natural/CUrban100 --steps 4000 --out src/mosaicir/models

Writes ``OUT/perception_mapnet.onnx``, ``.json`` (thresholds, choice per degradation,
validation figures), ``.md`` (model card) and ``.log.json`` (loss log).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from mosaicir.core.names import DEGRADATIONS
from mosaicir.degrade.generator import generate, load_labels, load_manifest
from mosaicir.io import load_image
from mosaicir.perception.classical import CELL, classical_features, classical_severity
from train.nets import DegradationMapNet, count_parameters, export_onnx
from train.restorers import StepBudget, StopRequest

NAME = "perception_mapnet"
PRESENT = 0.1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="+", required=True, help="folders of clean training images")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--cache", default="data/perception", help="where the generated training folders go")
    parser.add_argument("--mosaic-sets", type=int, default=10, help="draws of the mosaic suite")
    parser.add_argument("--mio-n", type=int, default=60, help="images used for each mio suite")
    parser.add_argument("--max-side", type=int, default=384)
    parser.add_argument("--steps", type=int, default=14000,
                        help="training steps (with --time-budget: the most it may take)")
    parser.add_argument("--time-budget", type=float, default=None,
                        help="seconds of training: the step count is fixed from the speed of the first steps (the "
                             "cosine schedule follows it); SIGTERM or Ctrl-C stops after the step, calibrates and exports as usual")
    parser.add_argument("--batch", type=int, default=6)
    parser.add_argument("--patch", type=int, default=192, help="crop side, multiple of 32")
    parser.add_argument("--patch-long", type=int, default=0,
                        help="longer crop side, multiple of 32 (0: square crops); crops follow the image's orientation, "
                             "so most of the image is seen at once (a darkened region against its neighbours)")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--clean-share", type=float, default=0.0,
                        help="share of crops drawn from images without degradation (0: as they come)")
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--resume", action="store_true",
                        help="start from OUT/perception_mapnet.pt (with --steps 0: only re-calibrate and re-export)")
    parser.add_argument("--workers", type=int, default=2, help="processes generating the data")
    parser.add_argument("--max-clean-flags", type=float, default=MAX_CLEAN_FLAGS,
                        help="most pixels of clean validation images a threshold may flag, per degradation (1: no limit)")
    parser.add_argument("--visible-labels", action="store_true",
                        help="train against the labels kept where each degradation visibly changed the pixels "
                             "(labels/<id>.visible.npz; folders cached before they were stored must be deleted first); the "
                             "thresholds are still calibrated against the full labels")
    parser.add_argument("--min-precision", type=float, default=0.0,
                        help="lowest validation precision a threshold may have (flags the agents act on should be right more often than not)")
    parser.add_argument("--min-precision-of", action="append", default=[], metavar="NAME=P",
                        help="a higher precision floor for one degradation (repeatable; P in [0, 1], the higher of P and "
                             "--min-precision applies): for a detector that reads whole photographs as degraded beyond "
                             "what the validation draw shows")
    args = parser.parse_args(argv)
    try:
        args.min_precision_of = {name: float(value) for name, value in (item.split("=", 1) for item in args.min_precision_of)}
    except ValueError:
        parser.error("--min-precision-of takes NAME=P, e.g. motion_blur=0.7")
    unknown = [n for n in args.min_precision_of if n not in DEGRADATIONS]
    if unknown:
        parser.error(f"--min-precision-of: unknown degradations {unknown}")
    if not all(0.0 <= p <= 1.0 for p in args.min_precision_of.values()):
        parser.error("--min-precision-of: a precision is in [0, 1]")
    return args


def training_folders(args: argparse.Namespace) -> tuple[list[Path], list[Path]]:
    """Generate (once) and return the training and validation folders."""
    cache = Path(args.cache)
    plan = [("mosaic", 100 + args.seed + i, None) for i in range(args.mosaic_sets)]
    plan += [("clean", 100 + args.seed, None)] + [(g, 100 + args.seed, args.mio_n) for g in ("mio-a", "mio-b", "mio-c")]
    val_plan = [("mosaic", 200 + args.seed, None), ("clean", 200 + args.seed, None)]
    val_plan += [(g, 200 + args.seed, max(1, args.mio_n // 2)) for g in ("mio-a", "mio-b", "mio-c")]
    folders: dict[str, list[Path]] = {"train": [], "val": []}
    for split, entries in (("train", plan), ("val", val_plan)):
        for suite, seed, n in entries:
            folder = cache / f"{'val-' if split == 'val' else ''}{suite}-{seed}"
            if not (folder / "manifest.json").is_file():
                print(f"generating {folder}", flush=True)
                generate(suite, folder, clean_dir=args.data, n=n, seed=seed, max_side=args.max_side, workers=args.workers)
            folders[split].append(folder)
    return folders["train"], folders["val"]


def cell_targets(labels: dict[str, np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """``float32 8 x H/8 x W/8``: label severity averaged over cells (H, W multiples of 8)."""
    height, width = shape
    target = np.zeros((len(DEGRADATIONS), height // CELL, width // CELL), np.float32)
    for i, name in enumerate(DEGRADATIONS):
        if name in labels:
            target[i] = cv2.resize(labels[name][:height, :width], (width // CELL, height // CELL), interpolation=cv2.INTER_AREA)
    return target


def load_items(folders: list[Path], min_side: int, min_long_side: int = 0,
               visible: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(uint8 H x W x 3, float32 8 x H/8 x W/8)]`` with H, W cut to multiples of 8; images whose
    shorter side is under ``min_side`` or longer side under ``min_long_side`` are left out. With
    ``visible``, the targets are the labels kept where the pixels visibly changed."""
    items = []
    for folder in folders:
        for entry in load_manifest(folder)["items"]:
            image = load_image(folder / "degraded" / f"{entry['id']}.png").image
            height, width = (image.shape[0] // CELL) * CELL, (image.shape[1] // CELL) * CELL
            if min(height, width) < min_side or max(height, width) < min_long_side:
                continue
            pixels = np.round(image[:height, :width] * 255).astype(np.uint8)
            labels = load_labels(folder, entry["id"], visible=visible)
            if labels is None:
                raise SystemExit(f"error: {folder} has no visible labels (generated before they were stored): "
                                 f"delete it to regenerate")
            items.append((pixels, cell_targets(labels, (height, width))))
    return items


def sample_batch(items, rng: np.random.Generator, batch: int, patch: int, clean: list[int] | None = None,
                 clean_share: float = 0.0, patch_long: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of random ``patch x patch_long`` crops (square when ``patch_long`` is 0), each laid
    along its image's longer side and turned to landscape; with ``clean_share`` > 0, that share of
    the crops comes from the images indexed by ``clean`` (no degradation: the false alarms they
    teach against are what harms restoration)."""
    images, targets = [], []
    patch_long = max(patch_long, patch)
    for _ in range(batch):
        if clean and rng.random() < clean_share:
            pixels, target = items[clean[int(rng.integers(len(clean)))]]
        else:
            pixels, target = items[int(rng.integers(len(items)))]
        portrait = pixels.shape[0] > pixels.shape[1]
        crop_h, crop_w = (patch_long, patch) if portrait else (patch, patch_long)
        # offsets on a 16-px grid keep the JPEG 8x8 (and 16x16 chroma) blocks in phase
        y = 16 * int(rng.integers(0, (pixels.shape[0] - crop_h) // 16 + 1))
        x = 16 * int(rng.integers(0, (pixels.shape[1] - crop_w) // 16 + 1))
        crop = pixels[y:y + crop_h, x:x + crop_w]
        cell = target[:, y // CELL:y // CELL + crop_h // CELL, x // CELL:x // CELL + crop_w // CELL]
        k = int(rng.integers(4)) if crop_h == crop_w else 2 * int(rng.integers(2)) + int(portrait)
        crop, cell = np.rot90(crop, k, axes=(0, 1)), np.rot90(cell, k, axes=(1, 2))
        if rng.random() < 0.5:
            crop, cell = crop[:, ::-1], cell[:, :, ::-1]
        images.append(np.ascontiguousarray(crop.transpose(2, 0, 1)))
        targets.append(np.ascontiguousarray(cell))
    x = torch.from_numpy(np.stack(images)).float() / 255.0
    return x, torch.from_numpy(np.stack(targets))


#: Default of ``--max-clean-flags``: no limit (pure F1); 0.006 keeps eight degradations under 5%.
MAX_CLEAN_FLAGS = 1.0


def best_threshold(scores: np.ndarray, truth: np.ndarray, clean_scores: np.ndarray | None = None,
                   max_clean_flags: float = MAX_CLEAN_FLAGS, min_precision: float = 0.0) -> tuple[float, float]:
    """Threshold in [0.02, 0.98] that maximises F1 of ``scores > t`` against ``truth``, among those
    flagging at most ``max_clean_flags`` of the pixels of clean images (``clean_scores``) and
    reaching a precision of at least ``min_precision``."""
    best = (0.98, 0.0)
    positives = truth.sum()
    for t in np.arange(0.02, 0.985, 0.01):
        if clean_scores is not None and clean_scores.size and (clean_scores > t).mean() > max_clean_flags:
            continue
        predicted = scores > t
        tp = np.logical_and(predicted, truth).sum()
        precision = tp / max(predicted.sum(), 1)
        if precision < min_precision:
            continue
        recall = tp / max(positives, 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        if f1 > best[1]:
            best = (round(float(t), 2), float(f1))
    return best


@torch.no_grad()
def predict_cells(model: torch.nn.Module, pixels: np.ndarray) -> np.ndarray:
    """``16 x H/8 x W/8`` for ``uint8 H x W x 3`` (H, W multiples of 8), padded as at inference."""
    height, width = pixels.shape[:2]
    padded = np.pad(pixels, ((0, (-height) % 32), (0, (-width) % 32), (0, 0)), mode="reflect")
    x = torch.from_numpy(np.ascontiguousarray(padded.transpose(2, 0, 1)))[None].float() / 255.0
    return model(x)[0].numpy()[:, : height // CELL, : width // CELL]


def validation_items(model: torch.nn.Module, folders: list[Path], predictions: dict[tuple[str, str], np.ndarray] | None = None):
    """Per item of the folders: ``(clean folder?, image cut to whole cells, labels, network cells)``;
    ``predictions`` keeps the network's cells by ``(folder, id)`` so that a second pass reuses them."""
    for folder in folders:
        manifest = load_manifest(folder)
        for entry in manifest["items"]:
            image = load_image(folder / "degraded" / f"{entry['id']}.png").image
            height, width = (image.shape[0] // CELL) * CELL, (image.shape[1] // CELL) * CELL
            image = image[:height, :width]
            key = (str(folder), entry["id"])
            cells = predictions.get(key) if predictions is not None else None
            if cells is None:
                cells = predict_cells(model, np.round(image * 255).astype(np.uint8))
                if predictions is not None:
                    predictions[key] = cells
            yield manifest.get("suite") == "clean", image, load_labels(folder, entry["id"]), cells


def precision_floors(min_precision: float, min_precision_of: dict[str, float] | None = None) -> dict[str, float]:
    """``{degradation: lowest validation precision its threshold may have}``: ``min_precision``,
    or the higher floor ``min_precision_of`` gives for that degradation (``--min-precision-of``)."""
    return {n: max(min_precision, (min_precision_of or {}).get(n, 0.0)) for n in DEGRADATIONS}


def calibrate(model: torch.nn.Module, folders: list[Path], max_clean_flags: float = MAX_CLEAN_FLAGS,
              min_precision: float = 0.0, min_precision_of: dict[str, float] | None = None) -> dict:
    """Per degradation and method: threshold of maximum pixel F1 on the validation folders,
    the F1 reached and the severity error where present; the method with the better F1 is chosen.
    ``min_precision_of``: ``{degradation: floor}``, the higher of it and ``min_precision`` applying."""
    floors = precision_floors(min_precision, min_precision_of)
    scores: dict[str, dict[str, list[np.ndarray]]] = {"learned": {n: [] for n in DEGRADATIONS}, "classical": {n: [] for n in DEGRADATIONS}}
    estimates: dict[str, dict[str, list[np.ndarray]]] = {"learned": {n: [] for n in DEGRADATIONS}, "classical": {n: [] for n in DEGRADATIONS}}
    clean_scores: dict[str, dict[str, list[np.ndarray]]] = {"learned": {n: [] for n in DEGRADATIONS}, "classical": {n: [] for n in DEGRADATIONS}}
    truth: dict[str, list[np.ndarray]] = {n: [] for n in DEGRADATIONS}
    severity: dict[str, list[np.ndarray]] = {n: [] for n in DEGRADATIONS}
    predictions: dict[tuple[str, str], np.ndarray] = {}
    pixel_folders = [f for f in folders if load_manifest(f).get("suite") in ("mosaic", "clean")]
    for clean_folder, image, labels, learned in validation_items(model, pixel_folders, predictions):
        height, width = image.shape[:2]
        classical = classical_severity(image, classical_features(image))
        count = len(DEGRADATIONS)
        maps = {"learned": (learned[:count], learned[count:]), "classical": (classical, classical)}
        for i, name in enumerate(DEGRADATIONS):
            label = labels.get(name, np.zeros(image.shape[:2], np.float32))[:height, :width][::4, ::4]
            truth[name].append(label.ravel() > PRESENT)
            severity[name].append(label.ravel())
            for method, (confidence, strength) in maps.items():
                up = lambda cells: cv2.resize(cells, (width, height), interpolation=cv2.INTER_LINEAR)[::4, ::4].ravel()
                scores[method][name].append(up(confidence[i]))
                estimates[method][name].append(up(strength[i]))
                if clean_folder:
                    clean_scores[method][name].append(up(confidence[i]))
    result = {"thresholds": {}, "f1": {}, "severity_mae": {}, "choice": {}}
    for method in scores:
        result["thresholds"][method], result["f1"][method], result["severity_mae"][method] = {}, {}, {}
        for name in DEGRADATIONS:
            s, t, v = np.concatenate(scores[method][name]), np.concatenate(truth[name]), np.concatenate(severity[name])
            e = np.concatenate(estimates[method][name])
            clean = np.concatenate(clean_scores[method][name]) if clean_scores[method][name] else None
            threshold, f1 = best_threshold(s, t, clean, max_clean_flags, floors[name])
            result["thresholds"][method][name] = threshold
            result["f1"][method][name] = round(f1, 4)
            result["severity_mae"][method][name] = round(float(np.abs(e[t] - v[t]).mean()) if t.any() else 0.0, 4)
    for name in DEGRADATIONS:
        result["choice"][name] = "classical" if result["f1"]["classical"][name] > result["f1"]["learned"][name] + 0.01 else "learned"
    result["image_thresholds"], result["image_f1"] = calibrate_summary(model, folders, result["thresholds"]["learned"],
                                                                        predictions=predictions)
    return result


#: Most clean validation images on which the whole-image decision may call one degradation present.
SUMMARY_MAX_CLEAN = 0.02


def calibrate_summary(model: torch.nn.Module, folders: list[Path], cell_thresholds: dict[str, float],
                      max_clean: float = SUMMARY_MAX_CLEAN,
                      predictions: dict[tuple[str, str], np.ndarray] | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """Whole-image thresholds of the summary: a degradation is present in an image when
    ``PRESENT_AREA`` of its cells exceed the threshold, i.e. when the ``1 - PRESENT_AREA`` quantile of
    its cell confidence does. Per degradation, the threshold (at most the cell threshold) of maximum
    image-level F1 over all validation folders (an image is positive when the degradation covers
    ``PRESENT_AREA`` of it in the labels, negative when it is absent), among those calling it present
    in at most ``max_clean`` of the clean images. Returns ``(thresholds, f1)``."""
    from mosaicir.perception.maps import PRESENT_AREA

    scores: dict[str, list[float]] = {n: [] for n in DEGRADATIONS}
    truth: dict[str, list[int]] = {n: [] for n in DEGRADATIONS}
    clean_scores: dict[str, list[float]] = {n: [] for n in DEGRADATIONS}
    for clean_folder, _, labels, cells in validation_items(model, folders, predictions):
        for i, name in enumerate(DEGRADATIONS):
            score = float(np.quantile(cells[i], 1.0 - PRESENT_AREA))
            if clean_folder:
                clean_scores[name].append(score)
            label = labels.get(name)
            area = float((label > PRESENT).mean()) if label is not None else 0.0
            if label is None or area >= PRESENT_AREA:
                scores[name].append(score)
                truth[name].append(int(area >= PRESENT_AREA))
    thresholds, f1s = {}, {}
    for name in DEGRADATIONS:
        s, t, c = np.array(scores[name]), np.array(truth[name], bool), np.array(clean_scores[name])
        f1 = lambda threshold: 2 * np.logical_and(s > threshold, t).sum() / max((s > threshold).sum() + t.sum(), 1)
        best = (cell_thresholds[name], float(f1(cell_thresholds[name])))  # the cell threshold if none does better
        for threshold in np.arange(0.02, cell_thresholds[name] + 1e-9, 0.01):
            if c.size and (c > threshold).mean() > max_clean:
                continue
            if f1(threshold) > best[1]:
                best = (round(float(threshold), 2), float(f1(threshold)))
        thresholds[name], f1s[name] = best[0], round(best[1], 4)
    return thresholds, f1s


def perception_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Presence: binary cross-entropy against ``label > 0.1`` (positives weighted 2, they are the
    rarer class); severity: L1 where the degradation is present (a small pull to 0 elsewhere)."""
    count = target.shape[1]
    present = (target > PRESENT).float()
    presence = torch.nn.functional.binary_cross_entropy_with_logits(
        logits[:, :count], present, pos_weight=torch.full((count, 1, 1), 2.0))
    severity = torch.sigmoid(logits[:, count:])
    error = (severity - target).abs()
    weight = present + 0.05 * (1 - present)
    return presence + (error * weight).sum() / weight.sum()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train_folders, val_folders = training_folders(args)
    items = load_items(train_folders, args.patch, args.patch_long, visible=args.visible_labels)
    clean = [i for i, (_, target) in enumerate(items) if float(target.max()) <= 0.0]
    print(f"{len(items)} training images ({len(clean)} without degradation) from {len(train_folders)} folders", flush=True)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = DegradationMapNet(len(DEGRADATIONS), args.width)
    checkpoint = out / f"{NAME}.pt"
    resumed_from, rebuilt_from = 0, None
    if args.resume and checkpoint.is_file():
        state = torch.load(checkpoint, map_location="cpu")
        model.load_state_dict(state["model"])
        resumed_from = int(state.get("steps_total", 0))
        rebuilt_from = state.get("rebuilt_from")
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    log, running, start = [], 0.0, time.perf_counter()
    budget, steps_done = StepBudget(args.steps, args.time_budget, start), 0
    stop = StopRequest()
    for step in range(args.steps):
        if stop.requested:
            print(f"stopped on request after {step} steps", flush=True)
            break
        total_steps = budget.at(step)
        if args.time_budget is not None and step == StepBudget.MEASURE_TO:
            print(f"time budget {args.time_budget:.0f} s: {total_steps} steps", flush=True)
        if step >= total_steps:
            break
        lr = args.lr * (step / 100 if step < 100 else 0.5 * (1 + math.cos(math.pi * step / total_steps)))
        for group in optimiser.param_groups:
            group["lr"] = max(lr, 1e-6)
        x, target = sample_batch(items, rng, args.batch, args.patch, clean, args.clean_share, args.patch_long)
        loss = perception_loss(model.logits(x), target)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        running += float(loss.detach())
        if (step + 1) % 50 == 0:
            log.append({"step": step + 1, "loss": round(running / 50, 5), "seconds": round(time.perf_counter() - start, 1)})
            print(log[-1], flush=True)
            running = 0.0
        steps_done = step + 1
    stop.restore()
    args.steps = steps_done
    seconds = time.perf_counter() - start
    model.eval()
    calibration = calibrate(model, val_folders, args.max_clean_flags, args.min_precision, args.min_precision_of)
    export_onnx(model, out / f"{NAME}.onnx", "maps", same_size=False)
    steps_total = resumed_from + args.steps
    torch.save({"model": model.state_dict(), "steps_total": steps_total, "width": args.width}, checkpoint)
    previous_log = out / f"{NAME}.log.json"
    if args.steps == 0 and args.resume and previous_log.is_file():  # re-calibration of a trained network
        record = json.loads(previous_log.read_text())
        record["calibration"] = calibration
        record["val_folders"] = [f.name for f in val_folders]
        record["max_clean_flags"] = args.max_clean_flags
        record["min_precision"] = args.min_precision
        record["min_precision_of"] = args.min_precision_of
        _write_outputs(out, record)
        print(json.dumps(calibration["f1"]), flush=True)
        return
    earlier_stages: list[dict] = []
    if resumed_from and (out / f"{NAME}.log.json").is_file():
        previous = json.loads((out / f"{NAME}.log.json").read_text())
        earlier_stages = _earlier_stages(previous) + [{"seconds": previous.get("seconds"), "recipe": _stage_recipe(previous)}]
    record = {
        "earlier_stages": earlier_stages,
        "name": NAME, "cell": CELL, "names": list(DEGRADATIONS), "width": args.width, "parameters": count_parameters(model),
        "steps": args.steps, "resumed_from_steps": resumed_from or None, "steps_total": steps_total,
        "batch": args.batch, "patch": args.patch, "patch_long": max(args.patch_long, args.patch), "lr": args.lr, "clean_share": args.clean_share, "seed": args.seed, "seconds": round(seconds, 1),
        "device": platform.processor() or "cpu", "torch": torch.__version__, "data": [str(d) for d in args.data],
        "train_folders": [f.name for f in train_folders], "train_images": len(items),
        "val_folders": [f.name for f in val_folders], "calibration": calibration, "log": log,
        "max_clean_flags": args.max_clean_flags, "min_precision": args.min_precision,
        "min_precision_of": args.min_precision_of, "visible_labels": args.visible_labels, "rebuilt_from": rebuilt_from,
    }
    _write_outputs(out, record)
    print(json.dumps(calibration["f1"]), flush=True)


def _write_outputs(out: Path, record: dict) -> None:
    calibration = record["calibration"]
    (out / f"{NAME}.log.json").write_text(json.dumps(record, indent=1) + "\n")
    config = {k: record[k] for k in ("name", "cell", "names")} | {
        "thresholds": calibration["thresholds"], "choice": calibration["choice"],
        "image_thresholds": calibration.get("image_thresholds", {}), "present_label": PRESENT}
    (out / f"{NAME}.json").write_text(json.dumps(config, indent=1) + "\n")
    (out / f"{NAME}.md").write_text(model_card(record))


def _earlier_stages(record: dict) -> list[dict]:
    """The runs a recorded network was fine-tuned from (older logs name a single ``first_stage``)."""
    return record.get("earlier_stages") or ([record["first_stage"]] if record.get("first_stage") else [])


def _stage_recipe(record: dict) -> str:
    """The training options of one recorded run."""
    return (f"--steps {record.get('steps')} --batch {record.get('batch')} --patch {record.get('patch')} "
            + (f"--patch-long {record['patch_long']} " if record.get("patch_long", record.get("patch")) != record.get("patch") else "")
            + f"--width {record.get('width')} --lr {record.get('lr')} --clean-share {record.get('clean_share', 0.0)}"
            + (" --visible-labels" if record.get("visible_labels") else ""))


def model_card(record: dict) -> str:
    c = record["calibration"]
    image_t, image_f1 = c.get("image_thresholds", {}), c.get("image_f1", {})
    rows = "\n".join(
        f"| {n} | {c['f1']['learned'][n]:.3f} | {c['thresholds']['learned'][n]} | {c['severity_mae']['learned'][n]:.3f} "
        f"| {c['f1']['classical'][n]:.3f} | {c['thresholds']['classical'][n]} | {c['choice'][n]} "
        f"| {image_t.get(n, '-')} | {image_f1.get(n, '-')} |"
        for n in record["names"])
    resumed = f" (fine-tuning after {record['resumed_from_steps']} earlier steps)" if record.get("resumed_from_steps") else ""
    resumed_recipe = "".join(f", {'then ' if i else 'starting from the checkpoint of a first run: '}`{stage['recipe']}` ({stage['seconds']} s)"
                             for i, stage in enumerate(_earlier_stages(record)))
    floors = "".join(f" --min-precision-of {n}={v}" for n, v in (record.get("min_precision_of") or {}).items())
    floor_note = (", `--min-precision-of` a higher one for " + ", ".join(record["min_precision_of"])) if floors else ""
    if record.get("rebuilt_from"):
        resumed_recipe += f"; the last checkpoint rebuilt from {record['rebuilt_from']} by `python -m train.from_onnx`"
    targets = ("the per-pixel severity labels kept where the degradation visibly changed the pixels "
               "(`labels/<id>.visible.npz`, `--visible-labels`), averaged over cells; the thresholds below are "
               "calibrated against the full labels") if record.get("visible_labels") else \
        "the\n  per-pixel severity labels averaged over cells"
    return f"""# perception_mapnet

Perception network: `1 x 3 x H x W` RGB in [0, 1] (H, W multiples of 8) -> `1 x 16 x H/8 x W/8`
per 8 x 8 cell in [0, 1]: the presence probability of each degradation, then its severity, in the
order {', '.join(record['names'])}.
`DegradationMapNet` in `train/nets.py` (width {record['width']}, {record['parameters']:,} parameters): a
full-resolution stem, three stride-2 stages, dilated convolutions and a global-context branch.

- Data: {record['train_images']} generated images ({', '.join(record['train_folders'])}) from the clean images in
  {', '.join(record['data'])}, made by `mosaicir bench generate` (longer side 384 px); targets are {targets}.
- Training: {record['steps']} steps{resumed} of batch {record['batch']}, {record['patch']}x{record.get('patch_long', record['patch'])} crops on a 16-px grid
  (rotations, flips; a share {record.get('clean_share', 0.0)} of them from images without degradation),
  AdamW lr {record['lr']} with warm-up and cosine decay, loss: presence BCE (label > 0.1,
  positives weighted 2) + severity L1 where present, seed {record['seed']};
  {record['seconds']} s on {record['device']} (torch {record['torch']}).
- Recipe: `python -m train.perception --data {' '.join(record['data'])} {_stage_recipe(record)} --max-clean-flags {record.get('max_clean_flags', 1.0)} --min-precision {record.get('min_precision', 0.0)}{floors} --out OUT{' --resume' if record.get('resumed_from_steps') else ''}`{resumed_recipe}
  (`--steps 0 --resume --max-clean-flags X` re-calibrates a trained network).
- Calibration on a separate draw ({', '.join(record['val_folders'])}): per degradation the presence threshold of
  maximum pixel F1 (label severity > 0.1 = present; `--max-clean-flags` caps the share of clean pixels a
  threshold flags, `--min-precision` sets the lowest precision it may have{floor_note}), for the network and for the
  classical estimators;
  `perception_mapnet.json` keeps both and the method used by `perceive(method="auto")`. The whole-image
  summary also calls a degradation present when 4% of the cells exceed its image threshold, chosen for
  image-level F1 on the same draw plus `mio-a/b/c` draws (at most 2% of the clean images called degraded).

| degradation | F1 learned | threshold | severity MAE | F1 classical | threshold | used | image threshold | image F1 |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
{rows}

Figures on held-out images are in `docs/PERCEPTION.md` (`mosaicir bench perception`).
"""


if __name__ == "__main__":
    main()
