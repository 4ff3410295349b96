"""Train the step judge (``step_judge``): the change of PSNR a tool step made, from the step itself.

Two stages.

``collect`` runs the engine (``spatial`` and/or ``global``, acting on every degradation, so that
deblurring and super-resolution steps are taken wherever perception hints at them) on items it can
score: generated folders (``--suites``, e.g. the perception training draws in ``data/perception``,
made from LIVE1 and Sun-Hays photographs only), real paired sets (``--pairs``, ``SET/input`` and
``SET/target`` matched by stem) and clean photographs (``--clean-photos``, their own reference).
Every step of a judged tool (:data:`mosaicir.quality.judge.JUDGED_TOOLS`) that changed its crop is
recorded: its features (:func:`mosaicir.quality.judge.step_features`), its true gain against the
clean crop (:func:`mosaicir.quality.judge.true_gain`), the quality agent's decision and the group
(source photograph or scene) it came from.

    python -m train.judge collect --suites data/perception/mosaic-100 data/perception/mio-a-100 \\
        --pairs ../shared/data/paired --clean-photos ../shared/data/natural/LIVE1 --out runs/judge/steps.npz

``fit`` trains a gradient-boosted regressor (scikit-learn) on the clipped gains, measures it by
group-wise cross-validation (no photograph or scene in both sides) against the quality agent's
own decisions, per kind of item (generated, real, clean), and writes ``OUT/step_judge.onnx``
(skl2onnx), ``.json`` (features, threshold, figures) and ``.md`` (model card).

    python -m train.judge fit --steps runs/judge/steps.npz --out runs/judge
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import time
from pathlib import Path

import numpy as np

from mosaicir.quality.judge import FEATURE_NAMES, GAIN_CLIP, JUDGED_TOOLS, step_features, true_gain

NAME = "step_judge"
KINDS = ("generated", "real", "clean")


def _items(args) -> list[tuple[str, str, str, Path, Path]]:
    """(kind, group, id, degraded path, reference path) of every item to run."""
    from mosaicir.bench.paired import find_sets, image_files, set_name
    from mosaicir.degrade.generator import load_manifest

    items = []
    for suite in args.suites:
        folder = Path(suite)
        manifest = load_manifest(folder)
        for item in manifest["items"][: args.n_per_suite]:
            items.append(("generated", item["source"], f"{folder.name}/{item['id']}",
                          folder / "degraded" / f"{item['id']}.png", folder / "clean" / f"{item['id']}.png"))
    for folder in find_sets(args.pairs):
        inputs, targets = image_files(folder / "input"), image_files(folder / "target")
        for stem in sorted(inputs)[: args.n_per_set]:
            if stem in targets:
                scene = re.sub(r"_\d+$", "", stem) if set_name(folder) == "PolyU" else stem
                items.append(("real", f"{set_name(folder)}/{scene}", f"{set_name(folder)}/{stem}", inputs[stem], targets[stem]))
    for folder in args.clean_photos:
        for stem, path in sorted(image_files(Path(folder)).items())[: args.n_per_set]:
            # grouped under the generator's name for the same photograph (``<folder>_<stem>``): a
            # photograph is never on both sides of the cross-validation
            items.append(("clean", f"{Path(folder).name}_{stem}", f"{Path(folder).name}/{stem}", path, path))
    return items


def collect(args) -> None:
    from mosaicir.agents.coordinator import Coordinator, RestoreConfig
    from mosaicir.agents.expert import ObservedStep
    from mosaicir.io import load_image

    rows: list[dict] = []
    current: dict = {}  # the item being restored: kind, group, item, reference

    def record(step: ObservedStep) -> None:
        attempt, candidate = step.attempt, step.candidate
        if attempt.outcome != "applied" or candidate.tool not in JUDGED_TOOLS or attempt.verdict is None:
            return
        top, left, bottom, right = step.task.box
        reference = current["reference"][top:bottom, left:right]
        if reference.shape != step.before.shape:
            return
        verdict = attempt.verdict
        readings = {"score_before": verdict.score_before, "score_after": verdict.score_after,
                    "naturalness": verdict.naturalness, "artifacts": verdict.artifacts, "remaining": verdict.remaining}
        rows.append({"features": step_features(step.before, attempt.image, step.weight, candidate.tool, candidate.params,
                                               readings),
                     "gain": true_gain(step.before, attempt.image, reference, step.weight), "tool": candidate.tool,
                     "accepted": verdict.decision == "accept", "kind": current["kind"], "group": current["group"],
                     "item": current["item"]})

    items = _items(args)
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    for number, (kind, group, item, degraded_path, reference_path) in enumerate(items):
        degraded, reference = load_image(degraded_path).image, load_image(reference_path).image
        if degraded.shape != reference.shape:
            continue
        current.update(kind=kind, group=group, item=item, reference=reference)
        for strategy in args.strategies:
            config = RestoreConfig(strategy=strategy, ignore=[], memory=False, workers=1)
            Coordinator(config, step_observer=record).run(degraded)
        _probe(degraded, rng, args.probes, record)
        if number % 20 == 0:
            print(f"{number + 1}/{len(items)} items, {len(rows)} steps, {time.perf_counter() - start:.0f} s", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out, features=np.stack([r["features"] for r in rows]) if rows else np.zeros((0, len(FEATURE_NAMES)), np.float32),
        gain=np.asarray([r["gain"] for r in rows], np.float32), tool=np.asarray([r["tool"] for r in rows]),
        accepted=np.asarray([r["accepted"] for r in rows]), kind=np.asarray([r["kind"] for r in rows]),
        group=np.asarray([r["group"] for r in rows]), item=np.asarray([r["item"] for r in rows]),
        feature_names=np.asarray(FEATURE_NAMES))
    print(f"{len(rows)} steps from {len(items)} items in {time.perf_counter() - start:.0f} s -> {out}")


#: Degradations whose judged tools the probes try on every box.
PROBED = ("motion_blur", "defocus_blur", "low_resolution")


def _probe(image: np.ndarray, rng: np.random.Generator, boxes: int, observer) -> None:
    """Beyond the engine's own steps: a region expert asked for each of :data:`PROBED` (at a drawn
    severity) on the whole frame and on ``boxes - 1`` drawn boxes of 40-80% of its sides, whatever
    perception says, so that the judge also sees steps on crops where the degradation is absent.
    ``observer`` records the steps (a :data:`mosaicir.agents.expert.StepObserver`)."""
    from mosaicir.agents.coordinator import Coordinator, RestoreConfig
    from mosaicir.agents.messages import RegionTask

    coordinator = Coordinator(RestoreConfig(ignore=[], memory=False, workers=1), step_observer=observer)
    height, width = image.shape[:2]
    chosen = [(0, 0, height, width)]
    for _ in range(max(boxes - 1, 0)):
        h, w = int(height * rng.uniform(0.4, 0.8)), int(width * rng.uniform(0.4, 0.8))
        # corners on the 16-px grid, as the engine's region crops (``crop_box``): the JPEG 8 x 8
        # blocks stay in phase, so the difference's grid energy means the same on both
        top, left = 16 * int(rng.integers(0, (height - h) // 16 + 1)), 16 * int(rng.integers(0, (width - w) // 16 + 1))
        chosen.append((top, left, top + h, left + w))
    for box in chosen[:boxes]:
        top, left, bottom, right = box
        for name in PROBED:
            task = RegionTask(region=0, box=box, signature={name: round(float(rng.uniform(0.2, 0.8)), 3)})
            coordinator.expert().run(task, image[top:bottom, left:right], None)


def _load(paths: list[str]) -> dict[str, np.ndarray]:
    parts = [dict(np.load(p, allow_pickle=False)) for p in paths]
    for part, path in zip(parts, paths):
        stored = [str(n) for n in part["feature_names"]]
        missing = [n for n in FEATURE_NAMES if n not in stored]
        if missing:
            raise SystemExit(f"{path} lacks the features {', '.join(missing)}; collect it again")
        part["features"] = part["features"][:, [stored.index(n) for n in FEATURE_NAMES]]  # by name
    return {k: np.concatenate([p[k] for p in parts]) for k in ("features", "gain", "tool", "accepted", "kind", "group", "item")}


def _policy_figures(gain: np.ndarray, accept: np.ndarray) -> dict:
    """How a decision rule did on steps whose true gains are known: share decided right, harmful
    steps among the accepted ones, and the mean gain per step of what it kept (rejected: 0)."""
    helped = gain > 0
    return {"accuracy": round(float((accept == helped).mean()), 3) if len(gain) else None,
            "accepted": int(accept.sum()),
            "harmful_accepts": round(float((~helped[accept]).mean()), 3) if accept.any() else 0.0,
            "kept_gain_db": round(float(np.where(accept, gain, 0.0).mean()), 3) if len(gain) else None,
            "best_gain_db": round(float(np.maximum(gain, 0.0).mean()), 3) if len(gain) else None}


def _model(args):
    # the classic boosting, not the histogram one: skl2onnx 1.20 writes the latter's missing-value
    # flags as booleans that onnx 1.23 refuses
    from sklearn.ensemble import GradientBoostingRegressor

    return GradientBoostingRegressor(n_estimators=args.trees, learning_rate=args.learning_rate, max_leaf_nodes=args.leaves,
                                     min_samples_leaf=args.min_leaf, subsample=0.8, loss="huber", random_state=args.seed)


def fit(args) -> None:
    from sklearn.model_selection import GroupKFold

    data = _load(args.steps)
    x, y = data["features"], np.clip(data["gain"], -GAIN_CLIP, GAIN_CLIP)
    groups = data["group"]
    print(f"{len(y)} steps, {len(set(groups))} groups; "
          + ", ".join(f"{k} {int((data['kind'] == k).sum())}" for k in KINDS))
    predicted = np.zeros_like(y)
    for train_index, test_index in GroupKFold(n_splits=args.folds).split(x, y, groups):
        model = _model(args).fit(x[train_index], y[train_index])
        predicted[test_index] = model.predict(x[test_index])
    figures = {}
    for kind in (*KINDS, "all"):
        chosen = np.ones(len(y), bool) if kind == "all" else data["kind"] == kind
        if not chosen.any():
            continue
        gain = data["gain"][chosen]
        figures[kind] = {"steps": int(chosen.sum()),
                         "agent": _policy_figures(gain, data["accepted"][chosen]),
                         "judge": _policy_figures(gain, predicted[chosen] > args.threshold),
                         "correlation": round(float(np.corrcoef(predicted[chosen], y[chosen])[0, 1]), 3) if chosen.sum() > 2 else None}
    per_tool = {}
    for tool in sorted(set(data["tool"])):
        chosen = data["tool"] == tool
        gain = data["gain"][chosen]
        per_tool[tool] = {"steps": int(chosen.sum()), "agent": _policy_figures(gain, data["accepted"][chosen]),
                          "judge": _policy_figures(gain, predicted[chosen] > args.threshold)}
    sweep = {f"{t:g}": {kind: _policy_figures(data["gain"][data["kind"] == kind], predicted[data["kind"] == kind] > t)
                        for kind in KINDS if (data["kind"] == kind).any()}
             for t in (-0.1, 0.0, 0.05, 0.1, 0.2, 0.5)}
    print(json.dumps(figures, indent=1))
    for t, row in sweep.items():
        print(f"threshold {t}: " + "; ".join(f"{k} acc {v['accuracy']} harmful {v['harmful_accepts']} kept {v['kept_gain_db']:+.3f}"
                                            for k, v in row.items()))
    model = _model(args).fit(x, y)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from skl2onnx import to_onnx

    onnx_model = to_onnx(model, x[:1].astype(np.float32), target_opset={"": 17, "ai.onnx.ml": 3})
    tmp = out / f"{NAME}.onnx.tmp"
    tmp.write_bytes(onnx_model.SerializeToString())
    tmp.replace(out / f"{NAME}.onnx")
    record = {"features": list(FEATURE_NAMES), "threshold": args.threshold, "steps": int(len(y)),
              "groups": int(len(set(groups))), "kinds": {k: int((data["kind"] == k).sum()) for k in KINDS},
              "cross_validation": figures, "thresholds": sweep, "per_tool": per_tool, "folds": args.folds, "trees": args.trees,
              "learning_rate": args.learning_rate, "leaves": args.leaves, "min_leaf": args.min_leaf, "seed": args.seed,
              "data": [str(p) for p in args.steps], "python": platform.python_version()}
    for suffix, text in ((".json", json.dumps(record, indent=1) + "\n"), (".md", _card(record))):
        tmp = out / f"{NAME}{suffix}.tmp"
        tmp.write_text(text)
        tmp.replace(out / f"{NAME}{suffix}")
    print(f"wrote {out / NAME}.onnx")


def _card(record: dict) -> str:
    lines = [f"# {NAME}", "",
             "Predicts the change of PSNR (dB) of one step of a tool without a physical test of its own "
             "(`mosaicir.quality.judge`); a gradient-boosted regressor (scikit-learn, exported with skl2onnx).", "",
             f"- Steps: {record['steps']} from {record['groups']} photographs or scenes "
             f"({', '.join(f'{k} {v}' for k, v in record['kinds'].items())}); data {', '.join(record['data'])}",
             f"- Recipe: `python -m train.judge fit --steps {' '.join(record['data'])} --trees {record['trees']} "
             f"--learning-rate {record['learning_rate']} --leaves {record['leaves']} --min-leaf {record['min_leaf']} "
             f"--threshold {record['threshold']} --out OUT` (steps from `python -m train.judge collect`)",
             f"- A step is kept when its predicted gain exceeds {record['threshold']} dB.", "",
             f"Group-wise {record['folds']}-fold cross-validation (no photograph or scene on both sides), "
             "against the quality agent's own decisions on the same steps:", "",
             "| items | steps | agent accuracy | judge accuracy | agent harmful accepts | judge harmful accepts | agent kept dB/step | judge kept dB/step | best dB/step |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for kind, row in record["cross_validation"].items():
        a, j = row["agent"], row["judge"]
        lines.append(f"| {kind} | {row['steps']} | {a['accuracy']} | {j['accuracy']} | {a['harmful_accepts']} | "
                     f"{j['harmful_accepts']} | {a['kept_gain_db']:+.3f} | {j['kept_gain_db']:+.3f} | {a['best_gain_db']:+.3f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="stage", required=True)
    c = sub.add_parser("collect", help="run the engine on scorable items and record its judged steps")
    c.add_argument("--suites", nargs="*", default=[], help="generated benchmark folders")
    c.add_argument("--n-per-suite", type=int, default=None, help="first N items of each suite")
    c.add_argument("--pairs", nargs="*", default=[], help="folders of paired sets (SET/input, SET/target)")
    c.add_argument("--clean-photos", nargs="*", default=[], help="folders of clean photographs")
    c.add_argument("--n-per-set", type=int, default=None, help="first N photographs of each set or folder")
    c.add_argument("--strategies", nargs="*", default=["spatial"], choices=["spatial", "global"])
    c.add_argument("--probes", type=int, default=2, help="boxes per item on which every probed degradation is tried (0: none)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--out", required=True, help="steps file (.npz)")
    f = sub.add_parser("fit", help="train and measure the judge on collected steps")
    f.add_argument("--steps", nargs="+", required=True)
    f.add_argument("--out", required=True)
    f.add_argument("--folds", type=int, default=5)
    f.add_argument("--trees", type=int, default=300)
    f.add_argument("--learning-rate", type=float, default=0.05)
    f.add_argument("--leaves", type=int, default=15)
    f.add_argument("--min-leaf", type=int, default=20)
    f.add_argument("--threshold", type=float, default=0.1, help="least predicted gain (dB) for a step to be kept")
    f.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    collect(args) if args.stage == "collect" else fit(args)


if __name__ == "__main__":
    main()
