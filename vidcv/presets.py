"""Presets: a pipeline as YAML, validated against the plugin declarations, saved so that it loads back equal.

```yaml
description: Canny edges of the smoothed gray image   # optional, kept when the preset is saved
decode: bgr                # optional: bgr (the default, exact) or luma (gray from the luma plane, opt-in)
pipeline:
  - plugin: color          # registry name
    params: {to: gray}
  - plugin: canny
    enabled: false         # bypassed, kept in the file
    params: {low: 50, high: 150}
```
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from vidcv.errors import PluginError, PresetError, VidcvError
from vidcv.fileio import write_text_atomic
from vidcv.params import shown
from vidcv.pipeline import DECODES, Pipeline, Stage
from vidcv.registry import Registry, default_registry

TOP_KEYS = ("pipeline", "description", "decode", "version")
STAGE_KEYS = ("plugin", "enabled", "params")
FORMAT_VERSION = 1
#: a preset is a short list of stages (the bundled ones are under 1 KB): anything larger is refused unread
MAX_PRESET_BYTES = 256 * 1024
MAX_STAGES = 256


class _PresetLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases: ``*name`` could expand a few hundred bytes into gigabytes."""

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]  # types-PyYAML leaves it unannotated
            raise yaml.composer.ComposerError(
                None,
                None,
                "aliases (*name, which repeat an &name anchor) are not allowed here: write each value out in full",
                event.start_mark,
            )
        return super().compose_node(parent, index)  # type: ignore[arg-type]


class _PresetDumper(yaml.SafeDumper):
    """Writes every value in full, never as an alias (which the loader refuses)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def find_preset(spec: str) -> str:
    """The preset file that ``spec`` names: a path, or the name of a bundled preset (``edges`` or
    ``edges.yaml``). PresetError otherwise, with a did-you-mean among the bundled presets and the YAML files
    beside ``spec``."""
    if os.path.exists(spec):
        return spec
    import difflib

    from vidcv.bundled import bundled_preset, bundled_presets

    bundled = bundled_preset(spec)
    if bundled:
        return bundled
    names = bundled_presets()
    folder = os.path.dirname(spec)
    try:
        files = [
            os.path.join(folder, n)
            for n in sorted(os.listdir(folder or "."))
            if n.endswith((".yaml", ".yml")) and not n.startswith(".")
        ]
    except OSError:
        files = []
    bare = os.path.splitext(spec)[0] if spec.endswith((".yaml", ".yml")) and not folder else spec
    scored = [(difflib.SequenceMatcher(None, bare, n).ratio(), n) for n in names]
    scored += [(difflib.SequenceMatcher(None, spec, f).ratio(), f) for f in files]
    score, best = max(scored, default=(0.0, ""))
    hint = f"; did you mean '{best}'?" if score >= 0.6 else ""  # difflib.get_close_matches' cutoff
    raise PresetError(f"no such preset file: {spec}{hint} (bundled presets: {', '.join(names) or 'none'})")


def load_preset(path: str, registry: Registry | None = None) -> Pipeline:
    """Read and validate a preset file into a new Pipeline (at most MAX_PRESET_BYTES are read)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_PRESET_BYTES + 1)
    except FileNotFoundError:
        raise PresetError(f"no such preset file: {path}") from None
    except OSError as exc:
        raise PresetError(f"cannot read preset {path}: {exc.strerror or exc}") from None
    _check_size(len(data), path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PresetError(
            f"{path}: not a preset: byte {exc.start} is not UTF-8 text (a preset is a YAML text file)"
        ) from None
    return parse_preset(text, registry, origin=path, folder=os.path.dirname(os.path.abspath(path)))


def _check_size(size: int, origin: str) -> None:
    if size > MAX_PRESET_BYTES:
        raise PresetError(
            f"{origin}: over {MAX_PRESET_BYTES // 1024} KB, too large for a preset (a preset is a short "
            "list of stages): check that it is the right file"
        )


def parse_preset(
    text: str, registry: Registry | None = None, origin: str = "<preset>", folder: str | None = None
) -> Pipeline:
    """Validate YAML text into a Pipeline; every error is one line that names the stage, the parameter and
    what is allowed. Aliases are refused and the size is bounded (MAX_PRESET_BYTES, MAX_STAGES). A relative
    file path (a model, a cascade) is found in ``folder``, the preset's own folder, when it is there."""
    _check_size(len(text.encode("utf-8", "surrogatepass")), origin)
    return pipeline_from_dict(safe_yaml(text, origin, "a preset"), registry, origin, folder)


def safe_yaml(text: str, origin: str, what: str = "a preset") -> Any:
    """YAML text read as presets are (PyYAML's safe loader with aliases refused); a PresetError of one line
    naming ``origin`` for text that is not YAML, too deeply nested, or holds an integer of over 4300 digits.
    The caller bounds the text's size."""
    try:
        return yaml.load(text, Loader=_PresetLoader)  # a SafeLoader without aliases
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join((getattr(exc, "problem", None) or str(exc)).split())
        raise PresetError(f"{origin}: not valid YAML{where}: {problem[:200]}") from None
    except RecursionError:
        raise PresetError(f"{origin}: not {what}: its values are nested too deeply") from None
    except ValueError as exc:  # a value PyYAML cannot build: an integer of over 4300 digits
        detail = "an integer has too many digits" if "digits" in str(exc) else shown(str(exc))
        raise PresetError(f"{origin}: not {what}: {detail}") from None


def pipeline_from_dict(
    data: Any, registry: Registry | None = None, origin: str = "<preset>", folder: str | None = None
) -> Pipeline:
    registry = registry or default_registry()
    if data is None:
        data = {"pipeline": []}
    if not isinstance(data, dict):
        raise PresetError(f"{origin}: expected a mapping with a 'pipeline' list at the top, got {type(data).__name__}")
    _reject_unknown_keys(data, TOP_KEYS, f"{origin}: unknown top-level key")
    version = data.get("version", FORMAT_VERSION)
    if isinstance(version, bool) or version != FORMAT_VERSION:
        raise PresetError(
            f"{origin}: preset format version {shown(version)} is not supported (this vidcv reads "
            f"version {FORMAT_VERSION})"
        )
    items = data.get("pipeline", [])
    if items is None:
        items = []
    if not isinstance(items, list):
        raise PresetError(f"{origin}: 'pipeline' must be a list of stages, got {type(items).__name__}")
    if len(items) > MAX_STAGES:
        raise PresetError(f"{origin}: {len(items)} stages, more than the {MAX_STAGES} a pipeline may have")
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise PresetError(
            f"{origin}: 'description' must be text (one line that says what the pipeline does), "
            f"got {shown(description)}"
        )
    decode = data.get("decode", "bgr")
    if not isinstance(decode, str) or decode not in DECODES:
        raise PresetError(
            f"{origin}: 'decode' = {shown(decode)} is not allowed: use bgr (the default: colour, then the first "
            "stage's own conversion, bit-equal everywhere) or luma (gray from the luma plane: faster, not exact)"
        )
    stages = [_stage_from_dict(i, item, registry, origin, folder) for i, item in enumerate(items)]
    return Pipeline(stages, description=description.strip(), decode=decode)


def _reject_unknown_keys(mapping: dict[Any, Any], allowed: tuple[str, ...], what: str) -> None:
    unknown = [k for k in mapping if k not in allowed]
    if unknown:
        raise PresetError(f"{what} {shown(unknown[0])}; allowed: {', '.join(allowed)}")


def beside_preset(params: dict[str, Any], declared: dict[str, Any], folder: str | None) -> dict[str, Any]:
    """``params`` with each relative file path that exists in the preset's ``folder`` made absolute there; a
    path found nowhere there stays as written (the current folder, or a bundled model's name)."""
    if not folder:
        return params
    found = dict(params)
    for name, value in params.items():
        if declared[name].kind == "path" and isinstance(value, str) and value and not os.path.isabs(value):
            candidate = os.path.join(folder, os.path.expanduser(value))
            if os.path.exists(candidate):
                found[name] = os.path.normpath(candidate)
    return found


def _stage_from_dict(index: int, item: Any, registry: Registry, origin: str, folder: str | None = None) -> Stage:
    where = f"{origin}: stage {index}"
    if not isinstance(item, dict):
        raise PresetError(
            f"{where}: expected a mapping such as {{plugin: blur, params: {{ksize: 5}}}}, got {shown(item)}"
        )
    name = item.get("plugin")
    if not isinstance(name, str):
        what = "missing 'plugin'" if name is None else f"'plugin' = {shown(name)} is no name"
        raise PresetError(f"{where}: {what} (the registry name, e.g. blur)")
    where = f"{where} ({name})" if len(name) <= 40 and name.isprintable() else where  # else the error shows it
    try:
        cls = registry.get(name)
    except PluginError as exc:
        raise PresetError(f"{where}: {exc}") from None
    _reject_unknown_keys(item, STAGE_KEYS, f"{where}: unknown key")
    enabled = item.get("enabled", True)
    if not isinstance(enabled, bool):
        raise PresetError(f"{where}: 'enabled' = {shown(enabled)} is not allowed: expected true or false")
    params = item.get("params") or {}
    if not isinstance(params, dict):
        raise PresetError(f"{where}: 'params' must be a mapping of parameter names to values, got {shown(params)}")
    declared = cls.declared()
    unknown = next((key for key in params if not isinstance(key, str) or key not in declared), None)
    if unknown is not None:
        raise PresetError(
            f"{where}: plugin '{name}' has no parameter {shown(unknown)}; its parameters are: "
            f"{', '.join(declared) or 'none'}"
        )
    params = beside_preset(params, declared, folder)
    try:
        plugin = cls(**params)
    except VidcvError as exc:  # vidcv's own messages (a value in them shortened) name the fix: whole, one line
        raise PresetError(f"{where}: {' '.join(str(exc).split())}") from None
    except Exception as exc:  # noqa: BLE001 (a plugin's setup refusing values its declarations let through)
        raise PresetError(
            f"{where}: cannot be set up with {shown(params)}: {type(exc).__name__}: {shown(str(exc))}"
        ) from None
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
    return {
        **({"description": pipeline.description} if pipeline.description else {}),
        **({"decode": pipeline.decode} if pipeline.decode != "bgr" else {}),  # the default is left out
        "pipeline": stages,
    }


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def dump_preset(pipeline: Pipeline) -> str:
    return yaml.dump(pipeline_to_dict(pipeline), Dumper=_PresetDumper, sort_keys=False, default_flow_style=None)


def save_preset(pipeline: Pipeline, path: str) -> None:
    """Write the preset atomically (temporary name, then rename)."""
    write_text_atomic(path, dump_preset(pipeline))
