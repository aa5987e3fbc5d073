#!/usr/bin/env bash
# Smoke test of the app bundle that scripts/bundle.sh builds: bash scripts/bundle_smoke.sh [DIST]
# (DIST: the bundle's folder, dist/vidcv by default). Not part of the test run (tests/test_bundle_smoke.py runs
# it when VIDCV_BUNDLE=1). Everything runs in a new folder under /tmp with an empty environment (env -i: a
# fresh HOME, PATH=/usr/bin:/bin, no venv, no PYTHONPATH), so that the bundle can lean on nothing of the
# checkout's; it uses the sample, presets and model inside the bundle:
#   - vidcv plugins: every plugin of vidcv's entry points (its dist-info in the bundle) is found and imports
#   - the window (vidcv-gui) on the sample with the YOLO demo preset, 30 frames, --screenshot; under xvfb-run
#     when there is one, else Qt's offscreen platform; the PNG must show a video frame (scripts/bundle/check_png.py)
#   - vidcv run on the sample: track_shapes (the demo YOLO model on ONNX Runtime, ByteTrack, line counting) and
#     edges (classic OpenCV), each to an H.264 .mp4 with --stats-json: frames > 0 and no stage errors; the
#     YOLO run must detect; then the written video is read back
#   - vidcv batch with 2 worker processes (spawned: the frozen program re-entered), vidcv label (which starts
#     the window as `sys.executable -m vidcv.ui.app`: scripts/bundle/entry.py), vidcv doctor (shown, not judged)
# Exit status 0 when all passed; the folder with the outputs is kept and named at the end.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dist=$(cd "${1:-$repo/dist/vidcv}" 2>/dev/null && pwd) || { echo "smoke: no bundle at ${1:-$repo/dist/vidcv} (bash scripts/bundle.sh)" >&2; exit 1; }
[ -x "$dist/vidcv" ] && [ -x "$dist/vidcv-gui" ] || { echo "smoke: $dist holds no vidcv and vidcv-gui" >&2; exit 1; }
out=$(mktemp -d /tmp/vidcv-bundle-smoke.XXXXXX)
mkdir -p "$out/home"
cd "$out"  # nowhere near the checkout
start=$(date +%s)

# The bundle's own assets, as vidcv.bundled finds them inside it.
sample=$(find "$dist" -path '*/vidcv/assets/sample.mp4' -print -quit)
[ -n "$sample" ] || { echo "smoke: the bundle holds no vidcv/assets/sample.mp4" >&2; exit 1; }

clean() { env -i HOME="$out/home" PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"; }
step() { echo "smoke: $*"; }
fail() { echo "smoke: FAILED: $*" >&2; echo "smoke: outputs in $out" >&2; exit 1; }
# PY: only to read the results (JSON, PNG); any python3 will do, the bundle does not use it.
PY=$(command -v python3 || true)
[ -n "$PY" ] || fail "python3 is needed to read the results"

step "plugins (vidcv plugins --json against the bundle's entry_points.txt)"
clean timeout 60 "$dist/vidcv" plugins --json > plugins.json 2> plugins.log || { cat plugins.log; fail "vidcv plugins"; }
"$PY" - plugins.json "$dist" <<'PY' || fail "plugin discovery"
import configparser, glob, json, sys
listed = json.load(open(sys.argv[1]))
metadata = glob.glob(f"{sys.argv[2]}/_internal/vidcv-*.dist-info/entry_points.txt")
if not metadata:
    sys.exit("smoke:   the bundle holds no vidcv-*.dist-info/entry_points.txt: plugins cannot be found")
entry_points = configparser.ConfigParser(delimiters=("=",))
entry_points.read(metadata[0])
declared = set(entry_points["vidcv.plugins"])
names = {p["name"] for p in listed["plugins"]}
if listed["broken"] or declared - names:
    sys.exit(f"smoke:   broken: {listed['broken']}; declared but not listed: {sorted(declared - names)}")
print(f"smoke:   {len(names)} plugins, as many as the entry points declare, none broken")
PY

step "window on the sample (YOLO demo preset, 30 frames, --screenshot)"
gui_args=("$dist/vidcv-gui" "$sample" --pipeline shapes --frames 30 --screenshot "$out/window.png")
if command -v xvfb-run >/dev/null 2>&1; then
  clean timeout 120 xvfb-run -a -s "-screen 0 1600x1000x24" "${gui_args[@]}" > window.log 2>&1 \
    || { cat window.log; fail "vidcv-gui under xvfb-run"; }
else
  echo "smoke:   no xvfb-run: Qt's offscreen platform"
  clean QT_QPA_PLATFORM=offscreen timeout 120 "${gui_args[@]}" > window.log 2>&1 \
    || { cat window.log; fail "vidcv-gui (offscreen)"; }
fi
[ -s window.png ] || { cat window.log; fail "no screenshot written"; }
"$PY" "$repo/scripts/bundle/check_png.py" window.png || fail "the screenshot shows no video frame: $out/window.png"

stats() {  # stats() JSON [need_detections JSONL]: frames > 0, no stage errors; prints a summary line
  "$PY" - "$@" <<'PY'
import json, sys
stats = json.load(open(sys.argv[1]))
errors = {s["name"]: s["errors"] for s in stats["stages"] if s.get("errors")}
providers = sorted({s["provider"] for s in stats["stages"] if s.get("provider")})
line = f"smoke:   {stats['frames']} frames at {stats['fps']:.0f} fps"
if providers:
    line += f", inference on {', '.join(providers)}"
if len(sys.argv) > 2:
    boxes = sum(len(json.loads(l).get("detections") or []) for l in open(sys.argv[2]) if l.strip())
    line += f", {boxes} detections"
    if boxes == 0:
        sys.exit(line + ": no detections")
counts = {s["name"]: s["counts"] for s in stats["stages"] if s.get("counts")}
if counts:
    line += f", counts {counts}"
if stats["frames"] <= 0 or errors:
    sys.exit(f"{line}: frames must be > 0 and no stage errors ({errors})")
print(line)
PY
}

step "vidcv run on the sample: track_shapes (demo YOLO on ONNX Runtime, ByteTrack, counting)"
clean timeout 180 "$dist/vidcv" run "$sample" --pipeline track_shapes --output yolo.mp4 --stats-json yolo.json \
  --detections-jsonl yolo.jsonl --quiet > yolo.log 2>&1 || { cat yolo.log; fail "vidcv run track_shapes"; }
[ -s yolo.mp4 ] || fail "no yolo.mp4 written"
stats yolo.json yolo.jsonl || { cat yolo.log; fail "track_shapes results"; }

step "vidcv run on the sample: edges (classic OpenCV)"
clean timeout 120 "$dist/vidcv" run "$sample" --pipeline edges --output edges.mp4 --stats-json edges.json \
  --quiet > edges.log 2>&1 || { cat edges.log; fail "vidcv run edges"; }
[ -s edges.mp4 ] || fail "no edges.mp4 written"
stats edges.json || { cat edges.log; fail "edges results"; }

step "reading the written video back (vidcv run yolo.mp4, gray)"
clean timeout 60 "$dist/vidcv" run yolo.mp4 --pipeline gray --stats-json back.json --quiet > back.log 2>&1 \
  || { cat back.log; fail "vidcv run yolo.mp4"; }
stats back.json || fail "reading yolo.mp4 back"

step "vidcv batch, 2 worker processes (edges, 30 frames each of 2 copies of the sample)"
mkdir -p inputs && cp "$sample" inputs/a.mp4 && cp "$sample" inputs/b.mp4
clean timeout 180 "$dist/vidcv" batch inputs --pipeline edges --out batch --workers 2 --max-frames 30 --quiet \
  > batch.log 2>&1 || { cat batch.log; fail "vidcv batch"; }
ok=$(grep -c '"status": "ok"' batch/batch.jsonl || true)
[ "$ok" = 2 ] || { cat batch.log batch/batch.jsonl; fail "vidcv batch: $ok of 2 inputs ok"; }
echo "smoke:   2 of 2 inputs ok, by workers $(grep -o '"worker": "[^"]*"' batch/batch.jsonl | cut -d'"' -f4 | sort -u | tr '\n' ' ')"

step "vidcv label (the window as a child, sys.executable -m vidcv.ui.app): a new dataset, --screenshot"
label_args=("$dist/vidcv" label dataset --format yolo --screenshot "$out/label.png")
if command -v xvfb-run >/dev/null 2>&1; then
  clean timeout 120 xvfb-run -a -s "-screen 0 1600x1000x24" "${label_args[@]}" > label.log 2>&1 \
    || { cat label.log; fail "vidcv label"; }
else
  clean QT_QPA_PLATFORM=offscreen timeout 120 "${label_args[@]}" > label.log 2>&1 || { cat label.log; fail "vidcv label"; }
fi
[ -s label.png ] && [ -f dataset/data.yaml ] || { cat label.log; fail "vidcv label wrote no screenshot or dataset"; }
echo "smoke:   dataset view shown, dataset/data.yaml made"

step "vidcv doctor"
clean timeout 60 "$dist/vidcv" doctor > doctor.txt 2>&1 || true  # missing CUDA is reported, not a failure here
sed 's/^/smoke:   /' doctor.txt | head -20

echo "smoke: passed in $(($(date +%s) - start)) s; outputs (window.png, yolo.mp4, edges.mp4, ...) in $out"
