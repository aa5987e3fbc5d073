"""Presets: a pipeline as YAML, validated against the plugin declarations, saved so that it loads back equal.

```yaml
description: Canny edges of the smoothed gray image   # optional, kept when the preset is saved
pipeline:
  - plugin: color          # registry name
    params: {to: gray}
  - plugin: canny
    enabled: false         # bypassed, kept in the file
    params: {low: 50, high: 150}
```
"""

from __future__ import annotations

import difflib
import os
from typing import Any

import yaml

from vidcv.errors import ParamError, PluginError, PresetError
from vidcv.fileio import write_text_atomic
from vidcv.pipeline import Pipeline, Stage
from vidcv.registry import Registry, default_registry

TOP_KEYS = ("pipeline", "description", "version")
STAGE_KEYS = ("plugin", "enabled", "params")
FORMAT_VERSION = 1


def find_preset(spec: str) -> str:
    """The preset file that ``spec`` names: a path, or the name of a bundled preset (``edges`` or
    ``edges.yaml``). PresetError otherwise, with a did-you-mean among the bundled presets and the YAML files
    beside ``spec``."""
    from vidcv.bundled import bundled_preset, bundled_presets

    if os.path.exists(spec):
        return spec
    bundled = bundled_preset(spec)
    if bundled:
        return bundled
    names = bundled_presets()
    folder = os.path.dirname(spec)
    try:
        files = [os.path.join(folder, n) for n in sorted(os.listdir(folder or "."))
                 if n.endswith((".yaml", ".yml")) and not n.startswith(".")]
    except OSError:
        files = []
    bare = os.path.splitext(spec)[0] if spec.endswith((".yaml", ".yml")) and not folder else spec
    scored = [(difflib.SequenceMatcher(None, bare, n).ratio(), n) for n in names]
    scored += [(difflib.SequenceMatcher(None, spec, f).ratio(), f) for f in files]
    score, best = max(scored, default=(0.0, ""))
    hint = f"; did you mean '{best}'?" if score >= 0.6 else ""  # difflib.get_close_matches' cutoff
    raise PresetError(f"no such preset file: {spec}{hint} (bundled presets: {', '.join(names) or 'none'})")


def load_preset(path: str, registry: Registry | None = None) -> Pipeline:
    """Read and validate a preset file into a new Pipeline."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise PresetError(f"no such preset file: {path}") from None
    except OSError as exc:
        raise PresetError(f"cannot read preset {path}: {exc.strerror}") from None
    return parse_preset(text, registry, origin=path)


def parse_preset(text: str, registry: Registry | None = None, origin: str = "<preset>") -> Pipeline:
    """Validate YAML text into a Pipeline; every error names the stage, the parameter and what is allowed."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PresetError(f"{origin}: not valid YAML{where}: {problem}") from None
    return pipeline_from_dict(data, registry, origin)


def pipeline_from_dict(data: Any, registry: Registry | None = None, origin: str = "<preset>") -> Pipeline:
    registry = registry or default_registry()
    if data is None:
        data = {"pipeline": []}
    if not isinstance(data, dict):
        raise PresetError(f"{origin}: expected a mapping with a 'pipeline' list at the top, got {type(data).__name__}")
    _reject_unknown_keys(data, TOP_KEYS, f"{origin}: unknown top-level key")
    version = data.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise PresetError(f"{origin}: preset format version {version!r} is not supported (this vidcv reads "
                          f"version {FORMAT_VERSION})")
    items = data.get("pipeline", [])
    if items is None:
        items = []
    if not isinstance(items, list):
        raise PresetError(f"{origin}: 'pipeline' must be a list of stages, got {type(items).__name__}")
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise PresetError(f"{origin}: 'description' must be text (one line that says what the pipeline does), "
                          f"got {description!r}")
    stages = [_stage_from_dict(i, item, registry, origin) for i, item in enumerate(items)]
    return Pipeline(stages, description=description.strip())


def _reject_unknown_keys(mapping: dict, allowed: tuple[str, ...], what: str) -> None:
    unknown = [k for k in mapping if k not in allowed]
    if unknown:
        raise PresetError(f"{what} {unknown[0]!r}; allowed: {', '.join(allowed)}")


def _stage_from_dict(index: int, item: Any, registry: Registry, origin: str) -> Stage:
    where = f"{origin}: stage {index}"
    if not isinstance(item, dict):
        raise PresetError(f"{where}: expected a mapping such as {{plugin: blur, params: {{ksize: 5}}}}, "
                          f"got {item!r}")
    name = item.get("plugin")
    where = f"{where} ({name})" if isinstance(name, str) else where
    if not isinstance(name, str):
        raise PresetError(f"{where}: missing 'plugin' (the registry name, e.g. blur)")
    _reject_unknown_keys(item, STAGE_KEYS, f"{where}: unknown key")
    enabled = item.get("enabled", True)
    if not isinstance(enabled, bool):
        raise PresetError(f"{where}: 'enabled' = {enabled!r} is not allowed: expected true or false")
    params = item.get("params") or {}
    if not isinstance(params, dict):
        raise PresetError(f"{where}: 'params' must be a mapping of parameter names to values, got {params!r}")
    try:
        cls = registry.get(name)
        plugin = cls(**params)
    except (PluginError, ParamError) as exc:
        raise PresetError(f"{where}: {exc}") from None
    return Stage(plugin, enabled)


def pipeline_to_dict(pipeline: Pipeline) -> dict[str, Any]:
    """The preset document: every stage with all its parameter values, in declaration order."""
    stages = []
    for stage in pipeline.stages:
        plugin = stage.plugin
        values = plugin.values()
        entry: dict[str, Any] = {"plugin": plugin.name}
        if not stage.enabled:
            entry["enabled"] = False
        entry["params"] = {name: _plain(values[name]) for name in plugin.declared()}
        stages.append(entry)
    return {**({"description": pipeline.description} if pipeline.description else {}), "pipeline": stages}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def dump_preset(pipeline: Pipeline) -> str:
    return yaml.safe_dump(pipeline_to_dict(pipeline), sort_keys=False, default_flow_style=None)


def save_preset(pipeline: Pipeline, path: str) -> None:
    """Write the preset atomically (temporary name, then rename)."""
    write_text_atomic(path, dump_preset(pipeline))
