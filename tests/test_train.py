"""The training recipes' data stream (skipped where the optional PyTorch extra is absent)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from train.data import DegradationPairs, pair_loader, saturate  # noqa: E402


def test_saturate_scales_colour_at_fixed_luma():
    rng = np.random.default_rng(0)
    image = rng.uniform(0.3, 0.7, size=(16, 16, 3)).astype(np.float32)
    luma = lambda x: x @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    assert np.array_equal(saturate(image, 1.0), image)
    boosted = saturate(image, 1.5)
    assert boosted.dtype == np.float32 and boosted.min() >= 0.0 and boosted.max() <= 1.0
    np.testing.assert_allclose(luma(boosted), luma(image), atol=1e-5)
    spread = lambda x: np.abs(x - luma(x)[..., None]).mean()
    assert spread(boosted) == pytest.approx(1.5 * spread(image), rel=1e-4)


def test_degradation_pairs_stream_through_worker_processes():
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, size=(160, 200, 3), dtype=np.uint8) for _ in range(3)]
    dataset = DegradationPairs(images, "jpeg", patch=32, seed=3, saturation=2.0)
    loader = pair_loader(dataset, batch=4, workers=2)
    degraded, clean = next(iter(loader))
    assert degraded.shape == clean.shape == (4, 3, 32, 32)
    assert float((degraded - clean).abs().mean()) > 0.0
