import pathlib

from vidcv.plugin_docs import render_markdown
from vidcv.registry import Registry

DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def test_the_plugin_reference_matches_the_declarations():
    expected = render_markdown(Registry())
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/plugins.md is out of date: run `vidcv plugins --markdown > docs/plugins.md`"
    )


def test_every_plugin_and_parameter_is_documented():
    text = DOC.read_text(encoding="utf-8")
    registry = Registry()
    for name in registry.names():
        assert f"### {name}\n" in text
        for param in registry.get(name).params:
            assert f"| `{param.name}` |" in text


def test_markdown_from_the_cli(capsys):
    from vidcv.cli.main import main

    assert main(["plugins", "--markdown"]) == 0
    assert capsys.readouterr().out == render_markdown(Registry())
