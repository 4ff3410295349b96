"""Seamless blending of regional results (soft masks; untouched pixels stay bit-identical)."""

from mosaicir.fusion.blend import RegionResult, fuse

__all__ = ["RegionResult", "fuse"]
