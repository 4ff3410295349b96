"""Re-run a recorded restoration: the recorded routing, the same perception and regions, and the
tool calls the quality agent accepted, in their order, with their recorded parameters: the whole-frame calls before the
regions, the regions' calls, then the whole-frame calls recorded after the regions (the scene pass)."""

from __future__ import annotations

import numpy as np

from mosaicir.core.errors import InvalidInputError
from mosaicir.core.image import check_image
from mosaicir.fusion import RegionResult, fuse
from mosaicir.perception import perceive
from mosaicir.regions import decompose
from mosaicir.tools import get_tool
from mosaicir.trajectory.records import Trajectory, image_hash


def accepted_calls(trajectory: Trajectory, region: int | None, steps: list | None = None) -> list:
    """The accepted tool calls of one region (None: a whole-frame stage), in order, among ``steps``
    (default: all of the trajectory's; each stage numbers its calls from 0)."""
    steps = trajectory.steps if steps is None else steps
    accepted, calls = [], {}
    for step in steps:
        if getattr(step, "region", "-") != region:
            continue
        if step.kind == "plan":  # a new stage (several whole-frame passes may come before the regions)
            calls = {}
        elif step.kind == "tool_call":
            calls[step.call] = step
        elif step.kind == "decision" and step.decision == "accept" and step.call in calls:
            accepted.append(calls[step.call])
    return accepted


def replay(trajectory: Trajectory, image: np.ndarray, *, check: bool = True) -> np.ndarray:
    """Reproduce the output of ``trajectory`` from its input ``image``: the recorded routing
    (``RoutingStep``) decides the regions; the accepted calls run in their recorded order.

    Raises:
        InvalidInputError: the image is not the recorded input, or (with ``check``) the replay
            does not reproduce the recorded regions or output.
    """
    image = check_image(image)
    header = trajectory.header
    if image_hash(image) != header.input:
        raise InvalidInputError(f"the image is not this trajectory's input ({image_hash(image)} != {header.input})")
    config = header.config
    current = image
    split = next((i for i, s in enumerate(trajectory.steps) if s.kind == "regions"), len(trajectory.steps))
    seen = {image_hash(current): current}
    for call in accepted_calls(trajectory, None, trajectory.steps[:split]):
        current = get_tool(call.tool).apply(current, call.params)
        seen[image_hash(current)] = current
    regions_step = trajectory.steps[split] if split < len(trajectory.steps) else None
    if regions_step is not None and regions_step.regions:
        routing = next((s for s in trajectory.steps if s.kind == "routing"), None)
        if routing is not None:
            exclude, whole_image, min_area = tuple(routing.exclude), routing.whole_image, routing.min_area
        else:  # recorded before the routing was: the configuration's rules
            exclude = tuple(regions_step.global_degradations) + tuple(config.get("ignore", ()))
            whole_image, min_area = config.get("strategy") == "global", config.get("min_region_area", 0.0)
        # the regions come from the perception of the image the coordinator perceived (before a
        # pass tried on every photograph), recorded by its hash
        source = seen.get(regions_step.perceived, current) if regions_step.perceived else current
        maps = perceive(source, method=config.get("perception", "auto"), estimates=False)
        regions = decompose(maps, exclude=exclude, whole_image=whole_image, min_area=min_area)
        regions = [r for r in regions if r.area >= min_area]  # as the coordinator left them
        recorded = [(r.id, tuple(r.bbox)) for r in regions_step.regions]
        if check and [(r.id, tuple(r.bbox)) for r in regions] != recorded:
            raise InvalidInputError("the regions differ from the recorded ones (were they given as masks?)")
        reverted = set()
        final = next((s for s in trajectory.steps if s.kind == "final_check"), None)
        if final is not None:
            reverted = set(final.reverted)
        results = []
        for region in regions:
            calls = accepted_calls(trajectory, region.id)
            if not calls or region.id in reverted:
                continue
            top, left, bottom, right = region.crop_box(config.get("margin", 32), image.shape[:2])
            crop = current[top:bottom, left:right]
            for call in calls:
                crop = get_tool(call.tool).apply(crop, call.params)
            results.append(RegionResult(region.id, (top, left, bottom, right), crop, region.mask[top:bottom, left:right]))
        current = fuse(current, results)
    for call in accepted_calls(trajectory, None, trajectory.steps[split:]):
        current = get_tool(call.tool).apply(current, call.params)
    if check and header.output is not None and image_hash(current) != header.output:
        raise InvalidInputError(f"replay gave {image_hash(current)}, the trajectory recorded {header.output}")
    return current
