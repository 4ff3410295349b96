"""Re-create the bundled sample image ``src/mosaicir/data/sample.png``.

A photograph from scikit-image (``chelsea``) with spatially varying degradations: a noisy band,
an under-exposed band and a hazy band. Run: ``.venv/bin/python scripts/make_sample.py``.
"""

from pathlib import Path

import numpy as np
import skimage.data

from mosaicir.degrade.layouts import LayoutParams
from mosaicir.degrade.recipe import AppliedDegradation, ItemRecipe, RegionRecipe, render
from mosaicir.degrade.depth import DepthParams
from mosaicir.io import save_image

OUT = Path(__file__).resolve().parents[1] / "src" / "mosaicir" / "data" / "sample.png"


def main() -> None:
    clean = (skimage.data.chelsea() / 255.0).astype(np.float32)
    rng = np.random.default_rng(2026)
    recipe = ItemRecipe(
        id="sample", source="chelsea", size=clean.shape[:2],
        layout=LayoutParams(kind="voronoi", n_regions=3, softness=0.02, seed=5),
        regions=[
            RegionRecipe(index=0, degradations=[AppliedDegradation.sample("noise", rng, 0.45)]),
            RegionRecipe(index=1, degradations=[AppliedDegradation.sample("haze", rng, 0.6)]),
            RegionRecipe(index=2, degradations=[]),
        ],
        depth=DepthParams(layout="landscape", horizon=0.3, seed=1),
    )
    degraded, _, _ = render(clean, recipe)
    save_image(OUT, degraded)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
