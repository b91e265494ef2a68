#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian 12 machine. Idempotent: fast when everything is there.
# Called by `npm test` (test/run.sh). Tools land in .tools/ (git-ignored), never in the tree.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=$ROOT/.tools
mkdir -p "$TOOLS/bin"
log() { printf '[setup] %s\n' "$*" >&2; }
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo

# ---- Debian packages ----
APT_PKGS=(podman runc uidmap docker-registry skopeo in-toto python3-venv chromium busybox-static postgresql-15)
missing=()
for p in "${APT_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The distribution package starts a registry on :5000 on install; tests run their own.
if systemctl is-active --quiet docker-registry 2>/dev/null; then $SUDO systemctl stop docker-registry || true; fi
# Likewise Postgres: the lineage tests start a throwaway cluster of their own (test/lineage/postgres.ts).
if systemctl is-active --quiet postgresql 2>/dev/null; then $SUDO systemctl stop postgresql || true; fi

# podman on these machines: runc (crun fails on hybrid cgroups), and ulimits it may set (raising is refused).
CONF=/etc/containers/containers.conf
if ! grep -q 'runtime = "runc"' "$CONF" 2>/dev/null; then
  log "writing $CONF"
  $SUDO mkdir -p /etc/containers
  $SUDO tee "$CONF" >/dev/null <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]
[engine]
runtime = "runc"
CONF
fi

npm_section() {
# ---- npm ----
# Current when installed from this exact package-lock.json (a stamp, not mtimes: a fresh clone's files are all new).
lock_sha=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.aibomgen-lock 2>/dev/null)" != "$lock_sha" ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sha" > node_modules/.aibomgen-lock
fi
}

# npm ci, the Go builds and the pip installs below are independent and slow on a fresh machine (minutes each):
# they run in parallel, and setup fails if any of them failed.
go_section() {
# ---- Go tools (pinned) ----
# (registry section: oras, cosign; the OCI conformance test binary is built below by the registry area)
export GOFLAGS=-mod=mod GOBIN=$TOOLS/bin
go_tool() { # name module@version
  if [ ! -x "$TOOLS/bin/$1" ] || [ "$(cat "$TOOLS/bin/.$1.version" 2>/dev/null)" != "$2" ]; then
    log "go install $2"
    go install "$2"
    echo "$2" > "$TOOLS/bin/.$1.version"
  fi
}
go_tool oras oras.land/oras/cmd/oras@v1.3.6
go_tool cosign github.com/sigstore/cosign/v3/cmd/cosign@v3.1.3

# ---- registry area: OCI conformance suite (owned by server/registry) ----
# Only this (non-Ginkgo) version is served by the module proxy here; built from a writable copy.
OCI_CONF_MOD=github.com/opencontainers/distribution-spec/conformance@v0.0.0-20260831232431-97274622c111
if [ ! -x "$TOOLS/bin/oci-conformance" ] || [ "$(cat "$TOOLS/bin/.oci-conformance.version" 2>/dev/null)" != "$OCI_CONF_MOD" ]; then
  log "go build $OCI_CONF_MOD"
  conf_src=$(go mod download -json "$OCI_CONF_MOD" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  conf_tmp=$(mktemp -d)
  cp -r "$conf_src/." "$conf_tmp" && chmod -R u+w "$conf_tmp"
  (cd "$conf_tmp" && go build -o "$TOOLS/bin/oci-conformance" .)
  rm -rf "$conf_tmp"
  echo "$OCI_CONF_MOD" > "$TOOLS/bin/.oci-conformance.version"
fi
}

py_section() {
# ---- Python tools (newest in-toto, CycloneDX validator) ----
VENV=$TOOLS/venv
PIP_PKGS=("in-toto==3.1.0" "cyclonedx-python-lib[json-validation]==11.12.0")
if [ "$(cat "$VENV/.pins" 2>/dev/null)" != "${PIP_PKGS[*]}" ]; then
  log "pip install ${PIP_PKGS[*]}"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "${PIP_PKGS[@]}"
  echo "${PIP_PKGS[*]}" > "$VENV/.pins"
fi

# ---- trainer area: Python Keras for .keras fixtures (owned by trainer/) ----
# Keras 3 writes the real `.keras` fixtures (trainer/samples/make_keras.py). Its numpy backend imports jax,
# so jax is the backend used. Pinned; skipped when the venv already holds these pins.
KERAS_VENV=$TOOLS/venv-keras
KERAS_PKGS=(keras==3.15.1 h5py==3.16.0 numpy==2.4.6 scipy==1.17.1 jax==0.10.2 jaxlib==0.10.2)
if [ "$(cat "$KERAS_VENV/.pins" 2>/dev/null)" != "${KERAS_PKGS[*]}" ]; then
  log "pip install ${KERAS_PKGS[*]} into .tools/venv-keras"
  python3 -m venv "$KERAS_VENV"
  if "$KERAS_VENV/bin/pip" install -q "${KERAS_PKGS[@]}"; then
    echo "${KERAS_PKGS[*]}" > "$KERAS_VENV/.pins"
  else
    log "keras install failed: the .keras round-trip test will skip; committed fixtures still work"
  fi
fi

}

npm_section > "$TOOLS/npm.log" 2>&1 & npm_pid=$!
go_section > "$TOOLS/go.log" 2>&1 & go_pid=$!
py_section > "$TOOLS/py.log" 2>&1 & py_pid=$!
ok=1
wait $npm_pid || { ok=0; log "npm ci failed:"; tail -20 "$TOOLS/npm.log" >&2; }
wait $go_pid || { ok=0; log "Go tools failed:"; tail -20 "$TOOLS/go.log" >&2; }
wait $py_pid || { ok=0; log "Python tools failed:"; tail -20 "$TOOLS/py.log" >&2; }
cat "$TOOLS/npm.log" "$TOOLS/go.log" "$TOOLS/py.log" >&2
[ $ok = 1 ] || exit 1

# ---- jobs area: podman API service prerequisites, offline trainer image (owned by server/jobs) ----

# ---- attest area: extra verifiers (owned by server/attest) ----
