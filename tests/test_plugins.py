"""A tool written in another package, registered through the ``mosaicir.tools`` entry-point group:
the README's example, installed as a distribution on ``sys.path`` (its code, its
``entry_points.txt`` and a copy of a shipped network as ``net.onnx``), is found, checked and passes
the registry's generated tool tests (``tests/tool_contract.py``); broken plug-ins are refused with
a message that says why."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data

import mosaicir.tools.base as tools_base
from mosaicir.core.errors import MosaicirError
from mosaicir.core.registry import Registry
from tool_contract import check_contract, check_gain, check_param_space, check_restraint

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "src" / "mosaicir" / "models"


def readme_example() -> tuple[str, str, str]:
    """``(entry-point name, "module:attribute", package code)`` from the README's plug-in example."""
    readme = (ROOT / "README.md").read_text()
    toml = next(b for b in re.findall(r"```toml\n(.*?)```", readme, re.S) if '"mosaicir.tools"' in b)
    code = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "def make_tool" in b)
    name, target = re.search(r'^(\w+)\s*=\s*"([\w.:]+)"', toml, re.M).groups()
    return name, target, code


def install(site: Path, package: str, code: str, entry_points: dict[str, str], network: Path | None) -> None:
    """A distribution as pip would leave it: the package and its ``.dist-info`` on ``site``."""
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text(code)
    if network is not None:
        shutil.copy(network, site / package / "net.onnx")
    info = site / f"{package}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[mosaicir.tools]\n{lines}")


@pytest.fixture
def fresh_registry(monkeypatch):
    """A tool registry with today's tools whose plug-ins are looked up again (on the patched path)."""
    registry = Registry("tool", "mosaicir.tools", loader=tools_base.plugin_tool)
    for name, tool in list(tools_base.TOOL_REGISTRY._entries.items()):
        registry.register(name, tool)
    monkeypatch.setattr(tools_base, "TOOL_REGISTRY", registry)
    return registry


@pytest.fixture(scope="module")
def fixture_image() -> np.ndarray:
    return (cv2.resize(skimage.data.astronaut(), (192, 192), interpolation=cv2.INTER_AREA) / 255.0).astype(np.float32)


def test_readme_plugin_is_found_checked_and_passes_the_generated_tests(tmp_path, monkeypatch, fresh_registry, fixture_image):
    name, target, code = readme_example()
    install(tmp_path, target.split(":")[0], code, {name: target}, MODELS / "denoise_unet.onnx")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert name in fresh_registry.names()
    tool = tools_base.get_tool(name)
    assert tool.name == name and tool.targets == ("noise",) and tool.default
    assert tool in tools_base.tools_for("noise")  # the planners may choose it
    check_contract(tool, fixture_image)
    check_gain(tool, fixture_image)
    check_restraint(tool, fixture_image)
    check_param_space(tool)


BROKEN = {
    "not_a_tool": ("def make_tool():\n    return 42\n", "not a mosaicir Tool"),
    "misnamed": ("from mosaicir.tools import get_tool\n\ndef make_tool():\n    return get_tool('deblock')\n",
                 "its tool 'deblock'"),
    "bad_targets": ("from mosaicir.tools import Tool, ToolParams\n\n"
                    "class Fog(Tool):\n    name = 'bad_targets'\n    targets = ('fog',)\n    Params = ToolParams\n\n"
                    "    def _apply(self, image, params):\n        return image\n\n"
                    "def make_tool():\n    return Fog\n", "not among the degradations"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_plugins_are_refused_with_the_reason(name, tmp_path, monkeypatch, fresh_registry):
    code, message = BROKEN[name]
    install(tmp_path, f"pkg_{name}", code, {name: f"pkg_{name}:make_tool"}, None)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MosaicirError, match=re.escape(message)) as caught:
        fresh_registry.names()
    assert f"plug-in {name!r}" in str(caught.value)


def test_a_tool_subclass_plugs_in_as_a_class(tmp_path, monkeypatch, fresh_registry, fixture_image):
    code = ("from mosaicir.tools.jpeg import Deblock\n\n"
            "class MyDeblock(Deblock):\n    name = 'my_deblock'\n")
    install(tmp_path, "pkg_class", code, {"my_deblock": "pkg_class:MyDeblock"}, None)
    monkeypatch.syspath_prepend(str(tmp_path))
    tool = tools_base.get_tool("my_deblock")
    assert type(tool).__name__ == "MyDeblock"
    check_contract(tool, fixture_image)
