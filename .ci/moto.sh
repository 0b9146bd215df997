#!/usr/bin/env bash
# The checks that need Python tools from PyPI, in a project-local virtualenv (.venv, gitignored):
#   1. cfn-lint over every synthesized template in cdk.out (settings and reasons: .cfnlintrc.yaml);
#   2. the AWS emulator suite (test/aws, `npm run test:aws`) against a moto server that the suite
#      starts on 127.0.0.1 from MOTO_BIN.
# Expects `npm ci` done; synthesizes if cdk.out has no template. .ci/run calls this after `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned: checked with Python 3.11 (moto needs >= 3.9).
MOTO_VERSION=5.2.5
CFN_LINT_VERSION=1.58.0

if ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
  rm -rf .venv
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --disable-pip-version-check --quiet --no-input \
  "moto[server]==${MOTO_VERSION}" "cfn-lint==${CFN_LINT_VERSION}"
echo "moto $(.venv/bin/python -c 'import moto; print(moto.__version__)'), $(.venv/bin/cfn-lint --version)"

if ! compgen -G 'cdk.out/*.template.json' >/dev/null; then
  npm run synth
fi
echo "cfn-lint: $(ls cdk.out/*.template.json | tr '\n' ' ')"
# Errors and warnings fail; informational findings are printed (include_checks in .cfnlintrc.yaml).
.venv/bin/cfn-lint --non-zero-exit-code warning
echo "cfn-lint: no errors or warnings"

start=$(date +%s)
MOTO_BIN="$PWD/.venv/bin/moto_server" npm run test:aws -- --ci --json --outputFile=test-results/jest-aws.json
echo "aws emulator suite took $(( $(date +%s) - start )) s"
