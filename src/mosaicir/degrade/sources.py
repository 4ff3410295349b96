"""Clean source images: the bundled ones (shipped inside scikit-image, scikit-learn and
matplotlib, so the generator works on a fresh machine) or any folder of images."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mosaicir.core.errors import InvalidInputError
from mosaicir.io.images import SUPPORTED_EXTENSIONS

#: Natural photographs that ship with the installed libraries (synthetic test patterns left out).
_SKIMAGE_FILES = (
    "astronaut.png", "brick.png", "camera.png", "chelsea.png", "coffee.png", "coins.png", "grass.png",
    "gravel.png", "hubble_deep_field.jpg", "ihc.png", "moon.png", "motorcycle_left.png",
    "motorcycle_right.png", "retina.jpg", "rocket.jpg",
)


@dataclass(frozen=True)
class CleanSource:
    """A clean image: ``name`` is unique within a set and safe in file names."""

    name: str
    path: Path


def bundled_sources() -> list[CleanSource]:
    """The bundled clean images, sorted by name."""
    import matplotlib
    import skimage.data
    import sklearn.datasets

    candidates = [Path(skimage.data.__file__).parent / f for f in _SKIMAGE_FILES]
    candidates += [Path(sklearn.datasets.__file__).parent / "images" / f for f in ("china.jpg", "flower.jpg")]
    candidates.append(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg")
    sources = [CleanSource(name=p.stem, path=p) for p in candidates if p.is_file()]
    return sorted(sources, key=lambda s: s.name)


def folder_sources(folder: str | os.PathLike[str]) -> list[CleanSource]:
    """Every image file below ``folder`` (recursively), sorted by relative path; names are the
    relative paths without extension, with ``/`` replaced by ``_``."""
    root = Path(folder)
    if not root.is_dir():
        raise InvalidInputError(f"{root}: not a folder")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_EXTENSIONS)
    sources = []
    for path in files:
        relative = path.relative_to(root).with_suffix("")
        name = "_".join(relative.parts).replace(" ", "_")
        sources.append(CleanSource(name=name, path=path))
    if not sources:
        raise InvalidInputError(f"{root}: no images found (looked for {', '.join(sorted(SUPPORTED_EXTENSIONS))})")
    return sources


def folders_sources(folders: list[str | os.PathLike[str]]) -> list[CleanSource]:
    """Sources of one or several folders; with several, names start with the folder's name."""
    if len(folders) == 1:
        return folder_sources(folders[0])
    sources = []
    for folder in folders:
        prefix = Path(folder).resolve().name
        sources += [CleanSource(name=f"{prefix}_{s.name}", path=s.path) for s in folder_sources(folder)]
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise InvalidInputError("clean folders give duplicate image names; give folders with distinct names")
    return sorted(sources, key=lambda s: s.name)
