import numpy as np
import pytest

from mosaicir.degrade.layouts import LAYOUT_KINDS, LayoutParams, make_layout, sample_layout_params


@pytest.mark.parametrize("kind", LAYOUT_KINDS)
@pytest.mark.parametrize("k", [2, 3, 4])
def test_layout_partitions_the_image(kind, k, astronaut):
    params = LayoutParams(kind=kind, n_regions=k, seed=k + 10)
    masks = make_layout(params, astronaut)
    assert masks.dtype == np.float32 and masks.shape[1:] == astronaut.shape[:2]
    assert 1 <= masks.shape[0] <= k
    assert np.allclose(masks.sum(axis=0), 1.0, atol=1e-5)
    assert masks.min() >= 0 and masks.max() <= 1
    assert np.array_equal(masks, make_layout(params, astronaut))
    soft = ((masks > 0.05) & (masks < 0.95)).mean()
    assert 0 < soft < 0.5, "edges must be soft, regions mostly solid"


def test_content_layout_follows_the_image(astronaut):
    masks = make_layout(LayoutParams(kind="content", n_regions=2, seed=1), astronaut)
    hard = masks.argmax(axis=0)
    # regions differ in colour: the mean colours of the two regions are far apart
    means = [astronaut[hard == i].mean(axis=0) for i in range(masks.shape[0])]
    assert np.abs(means[0] - means[1]).sum() > 0.1


def test_sample_layout_params_is_seeded():
    a = sample_layout_params(np.random.default_rng(3), 3)
    b = sample_layout_params(np.random.default_rng(3), 3)
    assert a == b and a.n_regions == 3
