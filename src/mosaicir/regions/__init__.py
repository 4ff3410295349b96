"""Decomposition of an image into regions of like degradation (from perception maps or user masks)."""

from mosaicir.regions.decompose import Region, decompose, mask_bbox, regions_from_masks

__all__ = ["Region", "decompose", "mask_bbox", "regions_from_masks"]
