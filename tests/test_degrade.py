"""Contract tests generated from the degradation registry."""

import json

import numpy as np
import pytest

from mosaicir.core.errors import UnknownNameError
from mosaicir.core.image import psnr
from mosaicir.core.names import DEGRADATIONS, PHYSICAL_ORDER
from mosaicir.core.severity import SEVERITY_MAPS
from mosaicir.degrade import DEGRADATION_REGISTRY, get_degradation
from mosaicir.degrade.depth import DEPTH_LAYOUTS, DepthParams, synthetic_depth
from mosaicir.estimators.kernels import disk_kernel, motion_kernel

NAMES = DEGRADATION_REGISTRY.names()
SEVERITIES = (0.2, 0.4, 0.6, 0.8, 1.0)


def test_registry_holds_exactly_the_eight_names():
    assert sorted(NAMES) == sorted(DEGRADATIONS)
    assert sorted(PHYSICAL_ORDER) == sorted(DEGRADATIONS)
    with pytest.raises(UnknownNameError, match="did you mean 'haze'"):
        get_degradation("hazee")


@pytest.mark.parametrize("name", NAMES)
def test_the_model_draws_its_parameter_from_the_one_severity_map(name):
    """Models, tools and perception share one map per degradation (mosaicir.core.severity): the
    model's parameter at a severity is the map's, and the map inverts."""
    severity_map = SEVERITY_MAPS[name]
    values = [severity_map.at(s) for s in SEVERITIES]
    assert all(a != b for a, b in zip(values, values[1:]))
    assert np.all(np.diff(values) > 0) or np.all(np.diff(values) < 0)
    for severity, value in zip(SEVERITIES, values):
        assert severity_map.severity_of(value) == pytest.approx(severity)
        drawn = getattr(get_degradation(name).sample(np.random.default_rng(0), severity), severity_map.parameter)
        assert drawn == pytest.approx(value, abs=0.5 if name == "jpeg" else 1e-9)  # JPEG quality is rounded


@pytest.mark.parametrize("name", NAMES)
def test_contract(name, astronaut):
    model = get_degradation(name)
    params = model.sample(np.random.default_rng(0), 0.5)
    out = model.apply(astronaut, params)
    assert out.shape == astronaut.shape and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert np.array_equal(out, model.apply(astronaut, params)), "apply must be deterministic"
    assert not np.array_equal(out, astronaut)
    assert np.array_equal(model.apply(astronaut, model.sample(np.random.default_rng(0), 0.0)), astronaut)


@pytest.mark.parametrize("name", NAMES)
def test_params_replay_from_json(name, astronaut):
    model = get_degradation(name)
    params = model.sample(np.random.default_rng(5), 0.7)
    recorded = json.loads(json.dumps(params.model_dump(mode="json")))
    assert np.array_equal(model.apply(astronaut, recorded), model.apply(astronaut, params))


@pytest.mark.parametrize("name", NAMES)
def test_psnr_falls_monotonically_with_severity(name, bundled_pair):
    model = get_degradation(name)
    for image in bundled_pair:
        for seed in (0, 1):
            scores = [psnr(image, model(image, s, np.random.default_rng(seed))[0]) for s in SEVERITIES]
            assert all(a > b for a, b in zip(scores, scores[1:])), f"{name} seed {seed}: {scores}"


@pytest.mark.parametrize("name", NAMES)
def test_sample_draws_same_randomness_at_every_severity(name):
    a, b = np.random.default_rng(9), np.random.default_rng(9)
    get_degradation(name).sample(a, 0.1)
    get_degradation(name).sample(b, 0.9)
    assert a.random() == b.random()


def test_mio_ranges_are_covered():
    def at(name, s):
        return get_degradation(name).sample(np.random.default_rng(0), s)

    lo, hi = get_degradation("noise").mio_severity
    assert at("noise", lo).sigma == pytest.approx(20) and at("noise", hi).sigma == pytest.approx(50)
    lo, hi = get_degradation("jpeg").mio_severity
    assert 28 <= at("jpeg", lo).quality <= 30 and 10 <= at("jpeg", hi).quality <= 12
    assert at("jpeg", 0.08).quality >= 60 and at("jpeg", 1.0).quality == 5
    lo, hi = get_degradation("haze").mio_severity
    assert at("haze", lo).beta == pytest.approx(0.6) and at("haze", hi).beta == pytest.approx(1.8)
    lo, hi = get_degradation("motion_blur").mio_severity
    assert at("motion_blur", lo).length == pytest.approx(10) and at("motion_blur", hi).length == pytest.approx(15)
    assert at("motion_blur", 1.0).length == pytest.approx(25)
    assert [round(at("defocus_blur", s).radius, 3) for s in (0.5, 2 / 3, 1.0)] == [3, 4, 6]
    assert at("defocus_blur", 0.25).radius == pytest.approx(1.5)
    assert at("low_resolution", 1.0).scale == pytest.approx(0.25) and at("low_resolution", 1 / 3).scale == pytest.approx(0.5)
    low = at("low_light", 0.5), at("low_light", 5 / 6)
    assert low[0].shift == pytest.approx(30) and low[1].shift == pytest.approx(50)
    assert at("low_light", 2 / 3).gamma == pytest.approx(0.5) and 0.69 <= at("low_light", 0.29).gamma <= 0.71
    assert 145 <= at("low_light", 0.59).maximum <= 150 and 99 <= at("low_light", 0.86).maximum <= 105
    rain = [at("rain", s) for s in np.linspace(0.1, 1, 10)]
    for seed in range(20):
        r = get_degradation("rain").sample(np.random.default_rng(seed), 0.5)
        assert 20 <= r.length <= 40 and -30 <= r.angle <= 30
    assert all(a.density < b.density for a, b in zip(rain, rain[1:]))


def test_haze_accepts_user_depth(astronaut):
    model = get_degradation("haze")
    params = model.sample(np.random.default_rng(0), 0.6)
    near = np.zeros((64, 64), np.float32)
    near[:, 32:] = 1.0  # resized to the image; right half far
    out = model.apply(astronaut, params, depth=near)
    assert psnr(astronaut[:, :50], out[:, :50]) > psnr(astronaut[:, 80:], out[:, 80:]) + 5


@pytest.mark.parametrize("layout", DEPTH_LAYOUTS)
def test_synthetic_depth(layout):
    depth = synthetic_depth((60, 80), DepthParams(layout=layout, seed=3))
    assert depth.shape == (60, 80) and depth.dtype == np.float32
    assert 0 <= depth.min() and depth.max() <= 1 and depth.std() > 0.05
    assert np.array_equal(depth, synthetic_depth((60, 80), DepthParams(layout=layout, seed=3)))


def test_kernels_are_normalised():
    for kernel in (motion_kernel(13.5, 37.0), motion_kernel(10, 90, 4.0), disk_kernel(3.0), disk_kernel(1.5)):
        assert kernel.sum() == pytest.approx(1.0, abs=1e-5)
        assert kernel.shape[0] % 2 == 1 and kernel.shape[0] == kernel.shape[1]
    horizontal = motion_kernel(9, 0.0)
    assert horizontal[horizontal.shape[0] // 2].sum() > 0.99
