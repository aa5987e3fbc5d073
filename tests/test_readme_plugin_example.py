"""The README's plugin example runs as written and does what it says: strength minus the image, saturating."""

import pathlib
import re

import numpy as np

from vidcv.frame import Frame

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def example_plugin():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    code = next(b for b in blocks if b.startswith("# mypkg/invert.py"))
    namespace: dict = {}
    exec(compile(code, "README.md: mypkg/invert.py", "exec"), namespace)
    return namespace["Invert"]


def test_the_readme_plugin_example_saturates_instead_of_wrapping_around():
    plugin = example_plugin()(strength=200)
    image = np.array([[[0, 50, 199]], [[200, 201, 255]]], np.uint8)
    out = plugin.process(Frame(image.copy(), 0, 0.0)).image
    assert out.tolist() == [[[200, 150, 1]], [[0, 0, 0]]]
    gray = plugin.process(Frame(np.array([[10, 250]], np.uint8), 0, 0.0, color_space="gray")).image
    assert gray.tolist() == [[190, 0]]
