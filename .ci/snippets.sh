#!/usr/bin/env bash
# The customer guide's receiver snippets (docs/snippets/verify.{mjs,py,go}, included verbatim in
# docs/webhooks-guide.md) against real deliveries of the local runtime, each with its language's
# Standard Webhooks library from its registry:
#   Node    npm standardwebhooks (a devDependency, pinned in package-lock.json; also the demo receiver's)
#   Python  PyPI standardwebhooks, into the project's .venv (as .ci/moto.sh does)
#   Go      github.com/standard-webhooks/standard-webhooks/libraries from the Go module proxy
#           (docs/snippets/go.mod and go.sum pin it), built with the machine's Go
# Then scripts/check-snippets.ts runs them as receivers: real deliveries of both event types, a test
# send, a secret rotation, a duplicate, a tampered, a stale and a foreign-key request. Their output
# is printed; a failed check fails this script. Expects `npm ci` done. Takes about 30 s once the
# libraries are cached.
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned: the versions the guide names (docs/webhooks-guide.md).
PY_STANDARDWEBHOOKS=1.1.0

start=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "node: $(node --version), standardwebhooks $(node -p 'require("standardwebhooks/package.json").version')"

if ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
  rm -rf .venv
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --disable-pip-version-check --quiet --no-input "standardwebhooks==${PY_STANDARDWEBHOOKS}"
echo "python: $(.venv/bin/python --version 2>&1), standardwebhooks $(.venv/bin/python -c 'from importlib.metadata import version; print(version("standardwebhooks"))')"

# The machine's Go (1.21+; the polyglot machines ship one in /usr/local/go); failing that, Debian's.
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
if ! "$GO" version >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends golang-go
  GO=$(command -v go)
fi
# go.sum pins the module's hash, so no checksum-database lookup is needed; never fetch a toolchain.
(cd docs/snippets && GOTOOLCHAIN=local GOFLAGS=-mod=readonly "$GO" build -o "$work/verify-go" .)
echo "go: $("$GO" version | cut -d' ' -f3), $(cd docs/snippets && GOTOOLCHAIN=local "$GO" list -m github.com/standard-webhooks/standard-webhooks/libraries)"

npx tsx scripts/check-snippets.ts \
  --snippet node="node docs/snippets/verify.mjs" \
  --snippet python=".venv/bin/python docs/snippets/verify.py" \
  --snippet go="$work/verify-go" \
  --json test-results/jest-snippets.json
echo "snippets took $(( $(date +%s) - start )) s"
