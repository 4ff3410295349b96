"""Benchmark suites: how the recipes of each suite are drawn from a clean image.

* ``mosaic``: 2-4 regions of a random layout, each with none, one or two degradations at random
  severities (at least one region degraded, usually some clean), and with probability 0.35 one
  global degradation on top (noise or JPEG).
* ``mio-a``, ``mio-b``, ``mio-c``: the whole-image combinations of the MiO protocol (AgenticIR),
  one item per combination, severities drawn inside the MiO ranges.
* ``single``: each degradation alone, whole image, at severities 0.25, 0.5 and 0.75.
* ``clean``: no degradation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mosaicir.core.names import DEGRADATIONS, PHYSICAL_ORDER
from mosaicir.core.registry import Registry
from mosaicir.degrade.depth import sample_depth_params
from mosaicir.degrade.layouts import LAYOUT_KINDS, make_layout, sample_layout_params
from mosaicir.degrade.models import get_degradation
from mosaicir.degrade.recipe import AppliedDegradation, ItemRecipe, RegionRecipe

MIO_GROUPS: dict[str, tuple[tuple[str, ...], ...]] = {
    "mio-a": (
        ("rain", "haze"), ("motion_blur", "low_resolution"), ("low_light", "noise"), ("defocus_blur", "jpeg"),
        ("noise", "jpeg"), ("rain", "low_resolution"), ("motion_blur", "low_light"), ("defocus_blur", "haze"),
    ),
    "mio-b": (("motion_blur", "jpeg"), ("haze", "noise"), ("defocus_blur", "low_resolution"), ("rain", "low_light")),
    "mio-c": (
        ("haze", "motion_blur", "low_resolution"), ("rain", "noise", "low_resolution"),
        ("low_light", "defocus_blur", "jpeg"), ("motion_blur", "defocus_blur", "noise"),
    ),
}
SINGLE_SEVERITIES: tuple[float, ...] = (0.25, 0.5, 0.75)

SuiteFn = Callable[[str, np.ndarray, np.random.Generator], list[ItemRecipe]]
SUITE_REGISTRY: Registry[SuiteFn] = Registry("suite")


def get_suite(name: str) -> SuiteFn:
    return SUITE_REGISTRY.get(name)


def ordered(names: list[str] | tuple[str, ...]) -> list[str]:
    return [n for n in PHYSICAL_ORDER if n in names]


def _needs_depth(names: list[str]) -> bool:
    return "haze" in names


def mosaic_recipes(stem: str, image: np.ndarray, rng: np.random.Generator) -> list[ItemRecipe]:
    size = image.shape[:2]
    n_regions = int(rng.integers(2, 5))
    layout = sample_layout_params(rng, n_regions, LAYOUT_KINDS[int(rng.integers(0, len(LAYOUT_KINDS)))])
    n_regions = make_layout(layout, image).shape[0]  # small regions may have been merged
    counts = rng.choice([0, 1, 2], size=n_regions, p=[0.25, 0.45, 0.30])
    if counts.max() == 0:
        counts[int(rng.integers(0, n_regions))] = 1
    regions = []
    for index, count in enumerate(counts):
        names = ordered(list(rng.choice(DEGRADATIONS, size=int(count), replace=False)))
        regions.append(RegionRecipe(index=index, degradations=[
            AppliedDegradation.sample(n, rng, float(np.round(rng.uniform(0.3, 0.9), 3))) for n in names
        ]))
    global_degradations = []
    if rng.random() < 0.35:
        name = "noise" if rng.random() < 0.5 else "jpeg"
        severity = float(np.round(rng.uniform(0.2, 0.6), 3))
        global_degradations.append(AppliedDegradation.sample(name, rng, severity))
        for region in regions:  # one source per degradation: the global one replaces regional copies
            region.degradations = [d for d in region.degradations if d.name != name]
        if not any(region.degradations for region in regions):  # keep the scene spatially varying
            others = [d for d in DEGRADATIONS if d != name]
            region = regions[int(rng.integers(0, n_regions))]
            extra = others[int(rng.integers(0, len(others)))]
            region.degradations = [AppliedDegradation.sample(extra, rng, float(np.round(rng.uniform(0.3, 0.9), 3)))]
    used = [d.name for r in regions for d in r.degradations]
    return [ItemRecipe(
        id=stem, source=stem, size=size, layout=layout, regions=regions, global_degradations=global_degradations,
        depth=sample_depth_params(rng) if _needs_depth(used) else None,
    )]


def _whole_image_recipe(item_id: str, stem: str, size: tuple[int, int], degradations: list[AppliedDegradation], rng: np.random.Generator) -> ItemRecipe:
    names = [d.name for d in degradations]
    return ItemRecipe(
        id=item_id, source=stem, size=size, layout=None,
        regions=[RegionRecipe(index=0, degradations=degradations)],
        depth=sample_depth_params(rng) if _needs_depth(names) else None,
    )


def _mio_suite(group: str) -> SuiteFn:
    def recipes(stem: str, image: np.ndarray, rng: np.random.Generator) -> list[ItemRecipe]:
        size = image.shape[:2]
        items = []
        for combo in MIO_GROUPS[group]:
            degradations = []
            for name in ordered(combo):
                lo, hi = get_degradation(name).mio_severity
                degradations.append(AppliedDegradation.sample(name, rng, float(np.round(rng.uniform(lo, hi), 3))))
            items.append(_whole_image_recipe(f"{stem}-{'+'.join(ordered(combo))}", stem, size, degradations, rng))
        return items

    recipes.__doc__ = f"One item per combination of MiO group {group[-1].upper()}."
    return recipes


def single_recipes(stem: str, image: np.ndarray, rng: np.random.Generator) -> list[ItemRecipe]:
    size = image.shape[:2]
    items = []
    for name in DEGRADATIONS:
        for severity in SINGLE_SEVERITIES:
            applied = AppliedDegradation.sample(name, rng, severity)
            items.append(_whole_image_recipe(f"{stem}-{name}-{int(round(severity * 100)):03d}", stem, size, [applied], rng))
    return items


def clean_recipes(stem: str, image: np.ndarray, rng: np.random.Generator) -> list[ItemRecipe]:
    return [ItemRecipe(id=stem, source=stem, size=image.shape[:2], regions=[RegionRecipe(index=0)])]


SUITE_REGISTRY.register("mosaic", mosaic_recipes)
for _group in MIO_GROUPS:
    SUITE_REGISTRY.register(_group, _mio_suite(_group))
SUITE_REGISTRY.register("single", single_recipes)
SUITE_REGISTRY.register("clean", clean_recipes)

__all__ = ["MIO_GROUPS", "SINGLE_SEVERITIES", "SUITE_REGISTRY", "get_suite"]
