import numpy as np
import pytest

from mosaicir.core import Registry, check_image, check_mask, psnr
from mosaicir.core.image import weighted_mean
from mosaicir.core.errors import InvalidImageError, MosaicirError, UnknownNameError


def test_check_image_accepts_contract(astronaut):
    assert check_image(astronaut) is astronaut


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 4, 3), np.uint8),
        np.zeros((4, 4), np.float32),
        np.zeros((4, 4, 4), np.float32),
        np.full((4, 4, 3), 1.5, np.float32),
        np.full((4, 4, 3), np.nan, np.float32),
        [[0.0]],
    ],
)
def test_check_image_rejects(bad):
    with pytest.raises(InvalidImageError):
        check_image(bad)


def test_check_mask_shape():
    with pytest.raises(InvalidImageError):
        check_mask(np.zeros((3, 3), np.float32), (4, 4))


def test_registry_suggests_close_name():
    reg: Registry[int] = Registry("thing")
    reg.register("motion_blur", 1)
    with pytest.raises(UnknownNameError, match="did you mean 'motion_blur'"):
        reg.get("motion_blurr")
    with pytest.raises(MosaicirError):
        reg.register("motion_blur", 2)


def test_weighted_mean_counts_only_the_weighted_pixels():
    values = np.arange(12, dtype=np.float32).reshape(3, 4)
    weight = np.zeros_like(values)
    weight[0, :2] = 1.0
    weight[2, 3] = 2.0
    assert weighted_mean(values, weight) == pytest.approx((0 + 1 + 2 * 11) / 4)
    assert weighted_mean(values) == pytest.approx(5.5)
    assert weighted_mean(values, np.zeros_like(values)) == 0.0


def test_psnr_masked(astronaut):
    noisy = np.clip(astronaut + 0.1, 0, 1)
    mask = np.zeros(astronaut.shape[:2], np.float32)
    mask[:, :64] = 1
    half = astronaut.copy()
    half[:, :64] = noisy[:, :64]
    assert psnr(astronaut, half, mask) == pytest.approx(psnr(astronaut[:, :64], noisy[:, :64]), abs=1e-6)
    assert psnr(astronaut, astronaut) == 100.0
