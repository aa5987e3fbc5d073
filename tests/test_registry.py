import subprocess
import sys
import textwrap

import pytest

from vidcv.errors import PluginError
from vidcv.registry import Registry


def test_builtins_come_through_the_entry_point_group(registry):
    for name in ("color", "blur", "canny"):
        assert name in registry.names()
        assert registry.entry(name).distribution == "vidcv"
        assert registry.get(name).name == name


def test_discovery_imports_no_plugin_code():
    code = (
        "import sys; from vidcv.registry import Registry; r = Registry(); "
        "assert 'canny' in r.names(); "
        "print(sorted(m for m in sys.modules if m.startswith('vidcv.plugins.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unknown_plugin_suggests_the_close_name(registry):
    with pytest.raises(PluginError, match="unknown plugin 'cany'; did you mean 'canny'"):
        registry.get("cany")


@pytest.fixture
def outside_package(tmp_path, monkeypatch):
    """An outside distribution with one good and one broken plugin, installed only by metadata on sys.path."""
    (tmp_path / "extplug.py").write_text(
        textwrap.dedent("""
        from vidcv.plugin import Plugin
        from vidcv.params import Int

        class Invert(Plugin):
            name = "invert"
            category = "point"
            params = (Int("strength", 255, 0, 255),)

            def process(self, frame):
                return frame.with_image(self.p.strength - frame.image)
    """)
    )
    (tmp_path / "brokenplug.py").write_text("import this_module_does_not_exist\n")
    info = tmp_path / "extplug-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: extplug\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[vidcv.plugins]\ninvert = extplug:Invert\nbroken = brokenplug:Thing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for mod in ("extplug", "brokenplug"):
        sys.modules.pop(mod, None)


def test_outside_plugin_is_first_class_and_a_broken_one_is_listed(outside_package):
    import numpy as np

    from vidcv.frame import Frame

    registry = Registry()
    assert registry.entry("invert").distribution == "extplug"
    loaded, broken = registry.load_all()
    assert {"color", "blur", "canny", "invert"} <= set(loaded)
    assert set(broken) == {"broken"} and "this_module_does_not_exist" in broken["broken"]
    with pytest.raises(PluginError, match="plugin 'broken' is broken: ModuleNotFoundError"):
        registry.get("broken")
    frame = registry.create("invert", strength=200).process(Frame(np.full((2, 2, 3), 50, np.uint8), 0, 0.0))
    assert (frame.image == 150).all()


def test_register_checks_the_class(registry):
    class NotAPlugin:
        name = "x"

    with pytest.raises(PluginError, match="does not name a vidcv.Plugin subclass"):
        registry.register(NotAPlugin)  # type: ignore[arg-type]


def test_entry_point_scan_agrees_with_importlib_metadata(outside_package):
    from importlib.metadata import entry_points

    from vidcv.registry import ENTRY_POINT_GROUP, find_entry_points

    expected = sorted((ep.name, ep.value, ep.dist.name) for ep in entry_points(group=ENTRY_POINT_GROUP))
    assert sorted(find_entry_points(ENTRY_POINT_GROUP)) == expected
    assert ("invert", "extplug:Invert", "extplug") in expected
