#!/usr/bin/env bash
# Build the app bundle: dist/vidcv/, one self-contained folder with the window (dist/vidcv/vidcv-gui) and the
# command line (dist/vidcv/vidcv), the bundled sample, presets and demo ONNX model, for Linux x86-64 machines
# like this one (no Python needed there). PyInstaller, from the runtime install alone (`pip install .`: no
# PyTorch, ultralytics or Ray); why PyInstaller, what is in it and its limits: docs/bundle.md.
#
#   bash scripts/bundle.sh            build (the build venv build/bundle-venv is made once, then reused)
#   bash scripts/bundle.sh --clean    build from scratch: a new build venv, no PyInstaller cache
#   bash scripts/bundle.sh --smoke    build, then run the smoke test (scripts/bundle_smoke.sh)
#   bash scripts/bundle.sh --cpu-only without ONNX Runtime's CUDA and TensorRT providers (285 MB less)
#
# It runs at low priority (nice 10) and prints the build time and the bundle's size at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

clean=0 smoke=0 cpu_only=0
for arg in "$@"; do
  case "$arg" in
    --clean) clean=1 ;;
    --smoke) smoke=1 ;;
    --cpu-only) cpu_only=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bundle: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

renice -n 10 -p $$ >/dev/null 2>&1 || true  # pip and PyInstaller inherit it: the machine is shared

PYTHON=${VIDCV_BUNDLE_PYTHON:-python3}  # the interpreter the bundle carries (it needs libpython as a .so)
venv=build/bundle-venv
src=build/bundle-src
work=build/bundle-work
start=$(date +%s)

if [ "$clean" = 1 ]; then
  rm -rf "$venv" "$work" dist/vidcv
fi

# The build venv: the runtime install of vidcv as a user gets it, plus PyInstaller.
if [ ! -x "$venv/bin/python" ]; then
  echo "bundle: making the build venv $venv ($("$PYTHON" -V 2>&1))"
  "$PYTHON" -m venv "$venv"
fi
# vidcv from a copy of the working tree, so that the build writes nothing next to the sources (setuptools'
# build/lib and vidcv.egg-info); the copy keeps the vidcv/{ui,plugins,assets} links.
rm -rf "$src"
mkdir -p "$src"
tar -C "$root" --exclude=__pycache__ -cf - pyproject.toml README.md vidcv plugins ui assets | tar -C "$src" -xf -
echo "bundle: installing vidcv (runtime only) and PyInstaller into $venv"
# (the filter: pip's notes about this machine's configured local indexes that lack a package)
"$venv/bin/python" -m pip install --quiet --upgrade-strategy only-if-needed "./$src" "pyinstaller>=6.22,<7" 2>&1 \
  | { grep -v "is ignored: it is neither a file nor a directory" || true; }
# The runtime must not hold the extras: the bundle would carry them (several GB).
"$venv/bin/python" - <<'PY'
import importlib.util, sys
found = [m for m in ("torch", "ultralytics", "triton", "ray") if importlib.util.find_spec(m)]
if found:
    sys.exit(f"bundle: the build venv holds {', '.join(found)}; the runtime install must not (bash scripts/bundle.sh --clean)")
PY
installed=$(date +%s)

echo "bundle: PyInstaller (log: build/bundle.log)"
fresh=()
[ "$clean" = 1 ] && fresh=(--clean)  # PyInstaller's own cache of processed libraries too
if ! VIDCV_BUNDLE_CPU_ONLY=$cpu_only "$venv/bin/pyinstaller" --noconfirm "${fresh[@]}" --log-level WARN \
     --distpath dist --workpath "$work" scripts/bundle/vidcv.spec > build/bundle.log 2>&1; then
  tail -n 40 build/bundle.log >&2
  echo "bundle: PyInstaller failed (full log: build/bundle.log)" >&2
  exit 1
fi
echo "bundle: PyInstaller warnings: $(grep -c WARNING build/bundle.log || true) (build/bundle.log: CUDA and GTK libraries it did not find)"
end=$(date +%s)

[ -x dist/vidcv/vidcv ] && [ -x dist/vidcv/vidcv-gui ] || { echo "bundle: dist/vidcv is incomplete" >&2; exit 1; }
echo "bundle: built dist/vidcv in $((end - start)) s (install $((installed - start)) s, PyInstaller $((end - installed)) s)"
echo "bundle: size of dist/vidcv: $(du -sh dist/vidcv | cut -f1) (the build venv: $(du -sh "$venv" | cut -f1))"
echo "bundle: run dist/vidcv/vidcv-gui (the window) or dist/vidcv/vidcv (the command line); copy the whole folder"

if [ "$smoke" = 1 ]; then
  bash scripts/bundle_smoke.sh dist/vidcv
fi
