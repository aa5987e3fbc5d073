"""The plugin reference, generated from the declarations so that it never drifts from the code."""

from __future__ import annotations

from typing import Any

from vidcv.registry import Registry

HEADER = """# Plugin reference

Generated from the plugin declarations by `vidcv plugins --markdown > docs/plugins.md`; a test fails when
this file and the code disagree. Every parameter can be set in a preset (`params: {name: value}`) and, in
the GUI, from a widget generated from the same declaration.
"""


def _allowed(p: dict[str, Any]) -> str:
    if "choices" in p:
        return ", ".join(f"`{c}`" for c in p["choices"])
    if "suggestions" in p:
        return "a file path, or one of " + ", ".join(f"`{c}`" for c in p["suggestions"])
    parts = []
    if "minimum" in p or "maximum" in p:
        parts.append(f"{p.get('minimum', '')} .. {p.get('maximum', '')}")
    if p.get("odd"):
        parts.append("odd" + (" or 0" if p.get("minimum") == 0 else ""))
    if "length" in p:
        parts.append(f"{p['length']} values")
    if p["type"] == "color":
        parts.append("B, G, R 0..255")
    return "; ".join(parts)


def render_markdown(registry: Registry) -> str:
    """Markdown for every loadable plugin, grouped by category; broken plugins listed at the end."""
    loaded, broken = registry.load_all()
    described = sorted((cls.to_dict() for cls in loaded.values()), key=lambda d: (d["category"], d["name"]))
    lines = [HEADER]
    categories = sorted({d["category"] for d in described})
    lines.append("| plugin | category | title |\n|---|---|---|")
    lines += [f"| [`{d['name']}`](#{d['name']}) | {d['category']} | {d['title']} |" for d in described]
    for category in categories:
        lines.append(f"\n## {category}\n")
        for d in (d for d in described if d["category"] == category):
            lines.append(f"### {d['name']}\n\n**{d['title']}.** {d['summary']}\n")
            if d["params"]:
                lines.append("| parameter | type | default | allowed | meaning |\n|---|---|---|---|---|")
                for p in d["params"]:
                    lines.append(f"| `{p['name']}` | {p['type']} | `{p['default']}` | {_allowed(p)} | {p['help']} |")
            else:
                lines.append("No parameters.")
            lines.append("")
    if broken:
        lines.append("\n## Plugins that failed to load\n")
        lines += [f"- `{name}`: {error}" for name, error in sorted(broken.items())]
    return "\n".join(lines).rstrip() + "\n"
