"""`vidcv plugins` (vidcv/cli/plugins.py): every plugin with its parameters, as text and as JSON."""

import json

from media import run_cli


def test_plugins_lists_every_plugin_with_parameters():
    res = run_cli("plugins", "--json")
    doc = json.loads(res.stdout)
    by_name = {p["name"]: p for p in doc["plugins"]}
    assert {"color", "blur", "canny"} <= set(by_name) and doc["broken"] == []
    ksize = next(p for p in by_name["blur"]["params"] if p["name"] == "ksize")
    assert ksize == {
        "name": "ksize",
        "type": "int",
        "default": 5,
        "minimum": 1,
        "maximum": 99,
        "step": 2,
        "odd": True,
        "help": ksize["help"],
    }
    text = run_cli("plugins").stdout
    assert "canny" in text and "aperture" in text and "[3, 5, 7]" in text
