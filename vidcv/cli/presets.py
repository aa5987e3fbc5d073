"""``vidcv presets``: the bundled presets, each with its description and stages (text or JSON); with a name, that
preset's YAML, to start a preset of one's own from."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from vidcv.cli.exit_codes import EXIT_OK
from vidcv.cli.output import say
from vidcv.printable import printable

EPILOG = """examples:
  vidcv presets
  vidcv presets --json > presets.json
  vidcv presets edges > my.yaml                 # a bundled preset as a file of your own to edit
  vidcv run assets/sample.mp4 --pipeline my.yaml --output out/mine.mp4

--pipeline (vidcv run, batch, extract) takes a bundled preset's name or a preset file; vidcv plugins lists
the plugins a stage can be, with their parameters."""


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "presets",
        parents=[common],
        help="list the bundled presets",
        description="List the presets bundled with vidcv, the names --pipeline takes, each with what it does "
        "and its stages; with NAME, print that preset's YAML.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "name",
        nargs="?",
        metavar="NAME",
        help="print this preset's YAML (a bundled preset's name, or a preset file)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=presets_command)


def describe_preset(name: str, path: str) -> dict[str, Any]:
    """A preset as ``vidcv presets`` lists it: name, description, stages (plugin, enabled, params) and path.
    Read as YAML only, without setting a stage up (a model stays unloaded); PresetError for a file that is
    not a preset."""
    from vidcv.errors import PresetError
    from vidcv.presets import safe_yaml

    data = safe_yaml(_read(path), path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PresetError(f"{path}: expected a mapping with a 'pipeline' list at the top, got {type(data).__name__}")
    items = data.get("pipeline") or []
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("plugin"), str) for i in items):
        raise PresetError(f"{path}: 'pipeline' must be a list of stages, each with its 'plugin'")
    description = data.get("description") or ""
    return {
        "name": name,
        "description": " ".join(str(description).split()),
        "stages": [
            {"plugin": i["plugin"], "enabled": i.get("enabled", True) is not False, "params": i.get("params") or {}}
            for i in items
        ],
        "path": path,
    }


def _read(path: str) -> str:
    """The text of a preset file, bounded as presets are (PresetError when it cannot be read)."""
    from vidcv.errors import PresetError
    from vidcv.presets import MAX_PRESET_BYTES

    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_PRESET_BYTES + 1)
    except OSError as exc:
        raise PresetError(f"cannot read preset {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_PRESET_BYTES:
        raise PresetError(f"{path}: over {MAX_PRESET_BYTES // 1024} KB, too large for a preset")
    return data.decode("utf-8", "replace")


def stages_text(preset: dict[str, Any]) -> str:
    """``color -> blur -> canny (off)``: the stages in order, a bypassed one marked."""
    names = [s["plugin"] + ("" if s["enabled"] else " (off)") for s in preset["stages"]]
    return " -> ".join(names) if names else "(no stages)"


def presets_command(args: argparse.Namespace) -> int:
    from vidcv.bundled import bundled_preset, bundled_presets
    from vidcv.errors import VidcvError
    from vidcv.presets import find_preset

    if args.name:
        path = find_preset(args.name)  # a did-you-mean when there is no such preset
        if args.json:
            name = os.path.splitext(os.path.basename(path))[0]
            print(json.dumps(describe_preset(name, path), indent=2, default=str))
        else:  # as it is, but a control character in it escaped as everywhere (a file's text on a terminal)
            sys.stdout.write("\n".join(printable(line) for line in _read(path).split("\n")))
        return EXIT_OK
    listed, broken = [], []
    for name in bundled_presets():
        path = bundled_preset(name) or name
        try:
            listed.append(describe_preset(name, path))
        except VidcvError as exc:
            broken.append({"name": name, "path": path, "error": str(exc)})
    if args.json:  # JSON escapes every control character itself
        print(json.dumps({"presets": listed, "broken": broken}, indent=2, default=str))
        return EXIT_OK
    width = max((len(p["name"]) for p in listed), default=0)
    for preset in listed:
        say(f"{preset['name']:<{width}}  {preset['description'] or '(no description)'}")
        say(f"{'':<{width}}  stages: {stages_text(preset)}")
    for row in broken:
        say(f"BROKEN {row['name']} ({row['path']}): {row['error']}")
    if not listed and not broken:
        print("No bundled presets were found (is vidcv installed with its assets?)")
    else:
        print()
        say("vidcv presets NAME prints one as YAML; --pipeline NAME runs it.")
    return EXIT_OK
