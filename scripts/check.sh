#!/usr/bin/env bash
# The checks a developer runs before a commit, as CI does (scripts/test.sh runs them first):
# the linter and the formatter (ruff), the type checker (mypy, strict on the core and the engine) and the
# import contracts between the layers (import-linter, from the checkout). Configured in pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
[ -x "$bin/ruff" ] || bash scripts/setup.sh
"$bin/ruff" check --quiet .
"$bin/ruff" format --check --quiet .
"$bin/lint-imports" --no-cache > /tmp/vidcv-lint-imports.$$ 2>&1 || { cat /tmp/vidcv-lint-imports.$$; rm -f /tmp/vidcv-lint-imports.$$; exit 1; }
rm -f /tmp/vidcv-lint-imports.$$
"$bin/mypy"
echo "checks: ruff, ruff format, lint-imports and mypy passed"
