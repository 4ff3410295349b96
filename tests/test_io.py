import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from mosaicir.core.errors import ImageReadError, ImageWriteError
from mosaicir.io import load_image, save_image
from mosaicir.io.arrays import save_npz
from mosaicir.io.images import apply_orientation


@pytest.fixture()
def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.mark.parametrize("ext", [".png", ".jpg", ".tif", ".webp", ".bmp"])
def test_load_formats_8bit(tmp_path, astronaut, ext):
    pixels = (astronaut * 255).round().astype(np.uint8)
    path = tmp_path / f"a{ext}"
    Image.fromarray(pixels).save(path, **({"quality": 95} if ext in (".jpg", ".webp") else {}))
    loaded = load_image(path)
    assert loaded.image.dtype == np.float32 and loaded.image.shape == (128, 128, 3)
    assert loaded.meta.bit_depth == 8
    tolerance = 0.0 if ext in (".png", ".tif", ".bmp") else 0.1
    assert np.abs(loaded.image - pixels / 255.0).mean() <= tolerance + 1e-6


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_sixteen_bit_round_trip(tmp_path, ext, srgb_icc):
    rng = np.random.default_rng(0)
    image = rng.random((20, 30, 3), dtype=np.float32)
    alpha = rng.random((20, 30), dtype=np.float32)
    path = tmp_path / f"deep{ext}"
    from mosaicir.io import ImageMeta

    save_image(path, image, alpha=alpha, meta=ImageMeta(bit_depth=16, icc_profile=srgb_icc))
    loaded = load_image(path)
    assert loaded.meta.bit_depth == 16
    # 16-bit quantisation error is below 1/65535; 8-bit would be ~1/510
    assert np.abs(loaded.image - image).max() < 1e-4
    assert loaded.alpha is not None and np.abs(loaded.alpha - alpha).max() < 1e-4
    assert loaded.meta.icc_profile == srgb_icc


def test_sixteen_bit_png_keeps_exif(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "mosaicir-test-camera"
    from mosaicir.io import ImageMeta

    path = tmp_path / "deep.png"
    save_image(path, np.full((8, 8, 3), 0.5, np.float32), meta=ImageMeta(bit_depth=16, exif=exif.tobytes()))
    assert load_image(path).meta.exif is not None
    assert Image.open(path).getexif()[0x010F] == "mosaicir-test-camera"


def test_grey_sixteen_bit_png(tmp_path):
    values = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)
    path = tmp_path / "grey16.png"
    Image.fromarray(values).save(path)
    loaded = load_image(path)
    assert loaded.meta.bit_depth == 16 and loaded.meta.grey
    assert np.allclose(loaded.image[:, :, 0], values / 65535.0, atol=1e-6)
    out = tmp_path / "grey16-out.png"
    save_image(out, loaded.image, meta=loaded.meta)
    assert np.array_equal(np.asarray(Image.open(out)).astype(np.uint16), values)


@pytest.mark.parametrize("ext", [".png", ".webp"])
def test_alpha_round_trip(tmp_path, astronaut, ext):
    alpha = np.linspace(0, 1, 128 * 128, dtype=np.float32).reshape(128, 128)
    path = tmp_path / f"rgba{ext}"
    save_image(path, astronaut, alpha=alpha, quality=100)
    loaded = load_image(path)
    assert loaded.alpha is not None
    assert np.abs(loaded.alpha - alpha).max() <= 1 / 255 + 1e-6


def test_alpha_stripped_for_jpeg(tmp_path, astronaut):
    path = save_image(tmp_path / "x.jpg", astronaut, alpha=np.ones((128, 128), np.float32))
    assert load_image(path).alpha is None


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".tif"])
def test_icc_and_exif_round_trip(tmp_path, astronaut, srgb_icc, ext):
    exif = Image.Exif()
    exif[0x010F] = "mosaicir-test-camera"
    pixels = (astronaut * 255).round().astype(np.uint8)
    source = tmp_path / f"src{ext}"
    Image.fromarray(pixels).save(source, icc_profile=srgb_icc, exif=exif.tobytes())
    loaded = load_image(source)
    assert loaded.meta.icc_profile == srgb_icc
    out = tmp_path / f"out{ext}"
    save_image(out, loaded.image, meta=loaded.meta)
    again = load_image(out)
    assert again.meta.icc_profile == srgb_icc
    assert Image.open(out).getexif()[0x010F] == "mosaicir-test-camera"
    stripped = save_image(tmp_path / f"bare{ext}", loaded.image, meta=loaded.meta, strip_icc=True, strip_exif=True)
    assert load_image(stripped).meta.icc_profile is None
    assert 0x010F not in Image.open(stripped).getexif()


def test_orientation_applied_on_load(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :10] = 255  # a white stripe on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "rotated.jpg"
    Image.fromarray(pixels).save(path, exif=exif.tobytes(), quality=100)
    loaded = load_image(path)
    assert loaded.image.shape == (40, 20, 3)
    assert loaded.meta.orientation == 6
    assert loaded.image[:10].mean() > 0.9 and loaded.image[20:].mean() < 0.1  # stripe now on top
    out = save_image(tmp_path / "upright.jpg", loaded.image, meta=loaded.meta)
    assert Image.open(out).getexif().get(0x0112, 1) == 1  # written upright, not rotated twice


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_matches_pillow(orientation):
    from PIL import ImageOps

    pixels = np.random.default_rng(orientation).integers(0, 255, (5, 7, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", exif=exif.tobytes())
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(buffer.getvalue()))))
    assert np.array_equal(apply_orientation(pixels, orientation), expected)


def test_grey_and_palette_become_rgb(tmp_path, astronaut):
    grey = tmp_path / "grey.png"
    Image.fromarray((astronaut[:, :, 0] * 255).astype(np.uint8)).save(grey)
    loaded = load_image(grey)
    assert loaded.image.shape == (128, 128, 3) and loaded.meta.grey
    out = save_image(tmp_path / "grey-out.png", loaded.image, meta=loaded.meta)
    assert Image.open(out).mode == "L"
    palette = tmp_path / "palette.png"
    Image.fromarray((astronaut * 255).astype(np.uint8)).convert("P").save(palette)
    assert load_image(palette).image.shape == (128, 128, 3)
    transparent = tmp_path / "palette-t.png"
    Image.fromarray((astronaut * 255).astype(np.uint8)).convert("P").save(transparent, transparency=0)
    assert load_image(transparent).alpha is not None


def test_truncated_file_raises(tmp_path, astronaut):
    path = tmp_path / "full.png"
    save_image(path, astronaut)
    cut = tmp_path / "cut.png"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ImageReadError):
        load_image(cut)
    jpeg = tmp_path / "full.jpg"
    save_image(jpeg, astronaut)
    cut_jpeg = tmp_path / "cut.jpg"
    cut_jpeg.write_bytes(jpeg.read_bytes()[:300])
    with pytest.raises(ImageReadError):
        load_image(cut_jpeg)


@pytest.mark.parametrize("content", [b"hello, this is text", b"", b"\x89PNG\r\n\x1a\n garbage"])
def test_non_image_raises(tmp_path, content):
    path = tmp_path / "notes.png"
    path.write_bytes(content)
    with pytest.raises(ImageReadError):
        load_image(path)


def test_missing_and_folder_raise(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        load_image(tmp_path / "absent.png")
    with pytest.raises(ImageReadError):
        load_image(tmp_path)


def test_pixel_limit(tmp_path, astronaut):
    path = save_image(tmp_path / "a.png", astronaut)
    with pytest.raises(ImageReadError, match="exceeds the limit"):
        load_image(path, max_pixels=128 * 128 - 1)
    assert load_image(path, max_pixels=128 * 128).image.shape == (128, 128, 3)


def test_write_is_atomic_and_input_untouched(tmp_path, astronaut):
    path = save_image(tmp_path / "a.png", astronaut)
    before = path.read_bytes()
    with pytest.raises(ImageWriteError):
        save_image(tmp_path / "a.xyz", astronaut)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]  # no temporary left behind


def test_npz_is_byte_reproducible(tmp_path):
    arrays = {"noise": np.linspace(0, 1, 100, dtype=np.float16).reshape(10, 10)}
    a = save_npz(tmp_path / "a.npz", arrays).read_bytes()
    b = save_npz(tmp_path / "b.npz", arrays).read_bytes()
    assert a == b
    with np.load(tmp_path / "a.npz") as data:
        assert np.array_equal(data["noise"], arrays["noise"])


def test_paths_are_pathlike(tmp_path, astronaut):
    path = save_image(str(tmp_path / "s.png"), astronaut)
    assert isinstance(path, Path) and load_image(str(path)).path == path
