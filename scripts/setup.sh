#!/usr/bin/env bash
# Set up what vidcv needs on a fresh Debian/Ubuntu machine, idempotently:
#   system packages (Qt's runtime libraries for the window; for dev also ffmpeg for the stream tests, Xvfb and
#   mosquitto, the MQTT broker the alert tests start on 127.0.0.1),
#   a virtual environment in .venv, and vidcv installed in it (editable).
#
#   bash scripts/setup.sh runtime   the runtime alone (`pip install -e .`): pipelines, the window, batches, tracking;
#                                   no PyTorch, ultralytics or Ray (what scripts/demo.sh needs)
#   bash scripts/setup.sh [dev]     the dev extras too (`pip install -e ".[dev]"`: train and ray, the tests and the
#                                   checks; what scripts/test.sh and scripts/check.sh need)
#
# Re-running is cheap: pip runs again only when pyproject.toml changed or more is asked for than is installed
# (a dev install serves the runtime too).
set -euo pipefail
cd "$(dirname "$0")/.."

want_set="${1:-dev}"
case "$want_set" in
  runtime) spec="." ;;
  dev) spec=".[dev]" ;;
  *) echo "setup: usage: bash scripts/setup.sh [runtime|dev]" >&2; exit 2 ;;
esac

APT_PACKAGES=(libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
              libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0)
[ "$want_set" = dev ] && APT_PACKAGES+=(ffmpeg xvfb mosquitto)

missing=()
if command -v dpkg >/dev/null 2>&1; then
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
  echo "setup: installing system packages: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "setup: vidcv needs Python 3.10 or newer ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv

# The stamp holds pyproject.toml's digest and what was installed from it (runtime or dev).
stamp=".venv/.vidcv-setup-stamp"
digest="$(sha256sum pyproject.toml | cut -d' ' -f1)"
have_digest="" have_set=""
if [ -f "$stamp" ]; then read -r have_digest have_set < "$stamp" || true; fi
if [ "$have_digest" != "$digest" ] || { [ "$want_set" = dev ] && [ "$have_set" != dev ]; }; then
  if [ "$want_set" = dev ]; then
    echo "setup: installing vidcv with its dev extras (train, ray, tests) into .venv (first time: a few minutes)"
  else
    echo "setup: installing vidcv into .venv (first time: a minute or two)"
  fi
  # The dev install fills about 8 GB (PyTorch's CUDA libraries 4 GB), the runtime about 1.5 GB: say so up front
  # where the disk holds less, since pip's own "No space left on device" names neither figure.
  need_mb=1600
  [ "$want_set" = dev ] && need_mb=8500
  free_mb="$(df -Pm .venv | awk 'NR == 2 {print $4}')"
  if [ -n "$free_mb" ] && [ "$free_mb" -lt "$need_mb" ]; then
    echo "setup: only ${free_mb} MB free on the disk of .venv and this install needs about ${need_mb} MB;" \
         "if pip stops with 'No space left on device', free some space and run set-up again" >&2
  fi
  # A registry's connection can drop in the middle of a large wheel (onnxruntime-gpu is 255 MB): pip resumes a
  # download up to --resume-retries times, and the whole install is tried three times before set-up gives up.
  # --no-cache-dir: a cached copy of every downloaded wheel (about 3.5 GB for dev) would take the disk twice.
  pip_install() {
    local attempt
    for attempt in 1 2 3; do
      .venv/bin/python -m pip install -q --no-cache-dir --retries 10 "$@" && return 0
      echo "setup: pip install $* failed (attempt $attempt of 3)" >&2
      sleep $((attempt * 10))
    done
    return 1
  }
  pip_install --upgrade pip setuptools wheel
  pip_install --resume-retries 30 -e "$spec"
  echo "$digest $want_set" > "$stamp"
fi
