"""The web app (``mosaicir app``): its functions without a browser, the command without gradio,
and the whole page end to end in a real browser (Debian's chromium driven by Playwright): upload
the bundled sample, restore it, see the result, the map and the regions' plans, download the result
and the report, and reach no other host.

The browser test is skipped, with the reason, where gradio, Playwright or chromium is missing
(``.ci/run`` installs them); with ``MOSAICIR_REQUIRE_BROWSER=1`` (set by ``.ci/run`` once they are
installed) a missing piece fails instead. ``MOSAICIR_APP_SCREENSHOT=PATH`` also saves the
screenshot there (how docs/app/screenshot.png was made).
"""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from helpers import resized

from mosaicir.core.errors import InvalidInputError
from mosaicir.io import load_image, save_image

CHROMIUM = os.environ.get("MOSAICIR_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def noisy_file(tmp_path_factory) -> Path:
    """A 96 x 96 PNG: the astronaut with Gaussian noise (sigma 0.1)."""
    clean = resized(skimage.data.astronaut(), 96, 96)
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 0.1, clean.shape), 0, 1).astype(np.float32)
    return save_image(tmp_path_factory.mktemp("upload") / "noisy.png", noisy)


def test_import_mosaicir_does_not_import_the_app():
    code = "import sys, mosaicir, mosaicir.cli; assert 'mosaicir.app' not in sys.modules and 'gradio' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_degradation_options():
    from mosaicir.app import default_degradations, degradation_options

    defaults = default_degradations()
    assert "noise" in defaults and "rain" not in defaults
    assert degradation_options(defaults) == {}
    assert degradation_options(["jpeg", "noise"]) == {"only": ["noise", "jpeg"]}
    with pytest.raises(InvalidInputError, match="at least one"):
        degradation_options([])
    with pytest.raises(InvalidInputError, match="unknown"):
        degradation_options(["fog"])


def test_restore_upload_writes_the_result_and_the_report(tmp_path, noisy_file):
    from mosaicir.app import PLAN_HEADERS, restore_upload

    done = restore_upload(noisy_file, out_dir=tmp_path)
    result, report, facts = (Path(f) for f in done.files)
    assert result.name == "noisy_restored.png" and report.name == "noisy_restored.report.html"
    assert facts.name == "noisy_restored.report.json" and "<html" in report.read_text()
    restored = load_image(result).image
    assert restored.shape == (96, 96, 3) and np.abs(restored - load_image(noisy_file).image).mean() > 0.01
    assert done.before.dtype == done.after.dtype == np.uint8 and done.before.shape == (96, 96, 3)
    assert done.map.dtype == np.uint8 and max(done.map.shape[:2]) >= 512, "a small image's map is enlarged"
    assert done.rows and all(len(row) == len(PLAN_HEADERS) for row in done.rows)
    assert any("denoise" in row[3] for row in done.rows), done.rows
    assert "noise" in done.summary and "noisy.png" in done.summary


def test_restore_upload_refuses_too_many_pixels(tmp_path, noisy_file):
    from mosaicir.app import restore_upload

    with pytest.raises(Exception, match="exceeds the limit"):
        restore_upload(noisy_file, out_dir=tmp_path, max_pixels=1000)
    with pytest.raises(InvalidInputError, match="strategy"):
        restore_upload(noisy_file, out_dir=tmp_path, strategy="everywhere")


def test_map_picture_outlines_the_regions():
    from mosaicir.app import map_picture
    from mosaicir.perception import perceive
    from mosaicir.trajectory.records import RegionInfo

    image = resized(skimage.data.coffee(), 128, 96)
    maps = perceive(image)
    region = RegionInfo(id=1, bbox=(8, 8, 64, 64), area=0.25, signature={"noise": 0.5})
    plain, outlined = map_picture(image, maps), map_picture(image, maps, [region])
    assert plain.shape == outlined.shape and plain.shape[0] == 96 * 4 + 22, "enlarged 4 times, with a legend strip"
    assert (plain != outlined).any()


def test_is_loopback():
    from mosaicir.app import DEFAULT_HOST, is_loopback

    assert DEFAULT_HOST == "127.0.0.1" and is_loopback(DEFAULT_HOST) and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")


def test_app_without_gradio_says_how_to_install(monkeypatch):
    from mosaicir.app import serve

    monkeypatch.setitem(sys.modules, "gradio", None)
    with pytest.raises(InvalidInputError, match=r"mosaicir\[app\]"):
        serve(port=7860)
    code = "import sys; sys.modules['gradio'] = None; sys.argv = ['mosaicir', 'app']; from mosaicir.cli import main; main()"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.startswith("error: the web app needs the 'app' extra"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_app_command_help_and_defaults():
    import inspect

    from typer.testing import CliRunner

    from mosaicir import app as web
    from mosaicir.cli import app, app_command

    result = CliRunner().invoke(app, ["app", "--help"])
    assert result.exit_code == 0 and "--host" in result.output and "--max-upload-mb" in result.output
    defaults = {name: p.default.default for name, p in inspect.signature(app_command).parameters.items()}
    assert defaults == {"host": web.DEFAULT_HOST, "port": web.DEFAULT_PORT, "max_upload_mb": web.DEFAULT_MAX_UPLOAD_MB,
                        "max_pixels": web.DEFAULT_MAX_PIXELS, "open_browser": False}, "the command's defaults are the app's"


def test_build_app():
    try:
        importlib.import_module("gradio")
    except ImportError as exc:
        pytest.skip(f"gradio cannot be imported ({exc}; pip install -e '.[app]')")
    from mosaicir.app import build_app

    demo = build_app()
    ids = {block.elem_id for block in demo.blocks.values()}
    assert {"mosaicir-upload", "mosaicir-restore", "mosaicir-slider", "mosaicir-map", "mosaicir-plans",
            "mosaicir-downloads"} <= ids


def _missing_browser_pieces() -> list[str]:
    missing = []
    for name in ("gradio", "playwright.sync_api"):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            missing.append(f"{name.split('.')[0]} cannot be imported ({exc}; pip install -e '.[app,test]')")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    return missing


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _other_address() -> str | None:
    """This machine's address on its default route (a UDP connect sends nothing), None if it has
    none but loopback."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def _wait_for(url: str, server: subprocess.Popen, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the app exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise AssertionError(f"the app did not answer on {url} within {seconds:.0f} s")


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory) -> Path:
    """The bundled sample photograph (451 x 300: noise, blur and low resolution in parts)."""
    target = tmp_path_factory.mktemp("sample") / "sample.png"
    target.write_bytes((files("mosaicir") / "data" / "sample.png").read_bytes())
    return target


def test_app_in_a_real_browser(tmp_path, sample_file):
    missing = _missing_browser_pieces()
    if missing:
        reason = "browser test not run: " + "; ".join(missing)
        if os.environ.get("MOSAICIR_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + " (MOSAICIR_REQUIRE_BROWSER=1)")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    port = _free_port()
    log = tmp_path / "app.log"
    env = dict(os.environ, GRADIO_TEMP_DIR=str(tmp_path / "gradio"), PYTHONUNBUFFERED="1")
    with open(log, "w") as out:
        server = subprocess.Popen([sys.executable, "-m", "mosaicir", "app", "--port", str(port), "--max-upload-mb", "1",
                                   "--max-pixels", "200000"], stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_for(url, server)
        deadline = time.monotonic() + 10
        while "serving on" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert f"serving on http://127.0.0.1:{port}" in log.read_text(), "binds to 127.0.0.1 by default"
        other = _other_address()
        if other is not None:  # not reachable through this machine's other addresses
            with pytest.raises(OSError):
                socket.create_connection((other, port), timeout=2).close()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
                requested: list[str] = []
                page.on("request", lambda request: requested.append(request.url))
                page.goto(url)
                page.locator("#mosaicir-upload input[type=file]").set_input_files(str(sample_file))
                page.wait_for_selector("#mosaicir-upload img", timeout=20_000)
                page.click("#mosaicir-restore")
                page.wait_for_selector("#mosaicir-map img", timeout=40_000)
                page.wait_for_function("document.querySelectorAll('#mosaicir-slider img').length == 2 && "
                                       "[...document.querySelectorAll('#mosaicir-slider img, #mosaicir-map img')]"
                                       ".every(img => img.complete && img.naturalWidth > 0)", timeout=20_000)
                map_width = page.eval_on_selector("#mosaicir-map img", "img => img.naturalWidth")
                assert map_width >= 512, map_width
                assert "restored in" in page.inner_text("#mosaicir-summary")
                plans = page.inner_text("#mosaicir-plans")
                assert "denoise" in plans and "R0" in plans, plans
                downloads = page.inner_text("#mosaicir-downloads")
                assert "sample_restored" in downloads and ".report" in downloads
                for name in ("sample_restored.png", "sample_restored.report.html"):
                    with page.expect_download(timeout=20_000) as download_info:
                        page.click(f'#mosaicir-downloads a[download="{name}"]')
                    download_info.value.save_as(tmp_path / name)
                restored = load_image(tmp_path / "sample_restored.png").image
                assert restored.shape == (300, 451, 3) and np.abs(restored - load_image(sample_file).image).mean() > 0.002
                assert "<html" in (tmp_path / "sample_restored.report.html").read_text(encoding="utf-8")
                shot = tmp_path / "screenshot.png"
                page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 10_000
                if os.environ.get("MOSAICIR_APP_SCREENSHOT"):  # .jpg: JPEG of quality 80
                    docs_shot = os.environ["MOSAICIR_APP_SCREENSHOT"]
                    jpeg = docs_shot.lower().endswith((".jpg", ".jpeg"))
                    page.screenshot(path=docs_shot, full_page=True, **({"quality": 80} if jpeg else {}))

                # the limits: a file of more than --max-upload-mb is refused on upload, an image of
                # more than --max-pixels when it is restored; both say so on the page
                too_large, too_many = tmp_path / "large.png", tmp_path / "many.png"
                noise = np.random.default_rng(0).random((700, 700, 3), dtype=np.float32)
                assert save_image(too_large, noise).stat().st_size > 1_000_000
                save_image(too_many, np.full((500, 500, 3), 0.5, np.float32))
                page.reload()
                page.locator("#mosaicir-upload input[type=file]").set_input_files(str(too_large))
                page.wait_for_selector(".toast-body", timeout=20_000)
                assert "maximum allowed size" in page.inner_text(".toast-body")
                page.reload()
                page.locator("#mosaicir-upload input[type=file]").set_input_files(str(too_many))
                page.wait_for_selector("#mosaicir-upload img", timeout=20_000)
                page.click("#mosaicir-restore")
                page.wait_for_selector(".toast-body", timeout=20_000)
                message = page.inner_text(".toast-body")
                assert "many.png: 500x500" in message and "exceeds the limit of 200000" in message, message
                outside = [u for u in requested if not u.startswith(("http://127.0.0.1", "data:", "blob:"))]
                assert not outside, f"the page reached other hosts: {outside[:5]}"
            finally:
                browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
