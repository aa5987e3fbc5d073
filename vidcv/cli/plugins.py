"""``vidcv plugins``: the plugins with their parameters (text, JSON, or the Markdown reference)."""

from __future__ import annotations

import argparse
import json
import sys

from vidcv.cli.exit_codes import EXIT_OK
from vidcv.cli.output import say
from vidcv.printable import printable


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "plugins",
        parents=[common],
        help="list the plugins and their parameters",
        description="List every plugin with its category, summary and parameters; "
        "plugins that failed to load are listed with their error.",
        epilog="examples:\n  vidcv plugins\n  vidcv plugins --json > plugins.json\n"
        "  vidcv plugins --markdown > docs/plugins.md",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--markdown", action="store_true", help="the plugin reference as Markdown (docs/plugins.md)")
    p.set_defaults(handler=plugins_command)


def plugins_command(args: argparse.Namespace) -> int:
    from vidcv.registry import default_registry

    registry = default_registry()
    if args.markdown:
        from vidcv.plugin_docs import render_markdown

        sys.stdout.write("\n".join(printable(line) for line in render_markdown(registry).split("\n")))
        return EXIT_OK
    loaded, broken = registry.load_all()
    described = [cls.to_dict() for cls in loaded.values()]
    broken_rows = [{"name": n, "target": registry.entry(n).target, "error": e} for n, e in broken.items()]
    if args.json:  # JSON escapes every control character itself
        print(json.dumps({"plugins": described, "broken": broken_rows}, indent=2))
        return EXIT_OK
    for category in sorted({d["category"] for d in described}):
        say(f"[{category}]")
        for d in (d for d in described if d["category"] == category):
            say(f"  {d['name']:<14} {d['summary']}")
            for p in d["params"]:
                allowed = (
                    ", ".join(map(str, p["choices"]))
                    if "choices" in p
                    else f"{p.get('minimum', '')}..{p.get('maximum', '')}"
                    if "minimum" in p or "maximum" in p
                    else ""
                )
                allowed = f" [{allowed}]" if allowed else ""
                say(f"      {p['name']:<12} {p['type']:<6} = {p['default']!s:<8}{allowed}  {p['help']}")
        print()
    for row in broken_rows:
        say(f"BROKEN {row['name']} ({row['target']}): {row['error']}")
    if not described and not broken_rows:
        print("No plugins are installed (is vidcv installed with pip install -e .?)")
    return EXIT_OK
