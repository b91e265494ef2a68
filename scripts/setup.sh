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
# mmdebstrap: the Keras trainer's offline image (trainer/image/build-keras.sh).
APT_PKGS=(podman runc uidmap docker-registry skopeo in-toto python3-venv chromium busybox-static postgresql-15 libgit2-dev mmdebstrap)
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
# Builds package <pkg> of <module@version> into <out> from a writable copy of the module: `go install` refuses
# a module whose version list the proxy here answers 403, or whose go.mod has replace directives. <dir>: where the
# copy goes (default a temporary directory); a fixed path lets an interrupted build reuse Go's build cache.
go_build_copy() {
  local mod=$1 pkg=$2 out=$3 dir=${4:-} src
  log "go build $mod"
  src=$(go mod download -json "$mod" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  if [ -n "$dir" ]; then rm -rf "$dir" && mkdir -p "$dir"; else dir=$(mktemp -d); fi
  cp -r "$src/." "$dir" && chmod -R u+w "$dir"
  (cd "$dir" && go build -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
  rm -rf "$dir"
}
go_tool oras oras.land/oras/cmd/oras@v1.3.6
go_tool cosign github.com/sigstore/cosign/v3/cmd/cosign@v3.1.3

# ---- attest area: ModelPack interop (test/attest/kit-modctl.test.ts) ----
# modctl: the proxy here serves github.com/CloudNativeAI/modctl up to v0.0.5 (not modelpack/modctl); `go install`
# refuses it (its version list is 403), so it is built from a writable copy; cgo with libgit2-dev (apt above).
# KitOps' kit cannot be built: every github.com/kitops-ml/kitops and jozu-ai/kitops version is 403 on the proxy.
MODCTL_MOD=github.com/CloudNativeAI/modctl@v0.0.5
if [ ! -x "$TOOLS/bin/modctl" ] || [ "$(cat "$TOOLS/bin/.modctl.version" 2>/dev/null)" != "$MODCTL_MOD" ]; then
  go_build_copy "$MODCTL_MOD" . "$TOOLS/bin/modctl"
  echo "$MODCTL_MOD" > "$TOOLS/bin/.modctl.version"
fi

# ---- registry area: OCI conformance suite (owned by server/registry) ----
# Only this (non-Ginkgo) version is served by the module proxy here; built from a writable copy.
OCI_CONF_MOD=github.com/opencontainers/distribution-spec/conformance@v0.0.0-20260831232431-97274622c111
if [ ! -x "$TOOLS/bin/oci-conformance" ] || [ "$(cat "$TOOLS/bin/.oci-conformance.version" 2>/dev/null)" != "$OCI_CONF_MOD" ]; then
  go_build_copy "$OCI_CONF_MOD" . "$TOOLS/bin/oci-conformance"
  echo "$OCI_CONF_MOD" > "$TOOLS/bin/.oci-conformance.version"
fi

# ---- registry area: SeaweedFS, whose S3 gateway is the object store of the S3-mode tests ----
# `go install` refuses it (its go.mod has replace directives): built from a writable copy at a fixed path under
# the user's cache, binary kept there too, so another clone on this machine reuses it (a first build: minutes).
WEED_MOD=github.com/seaweedfs/seaweedfs@v0.0.0-20261109003541-7506e5f91cd6
if [ ! -x "$TOOLS/bin/weed" ] || [ "$(cat "$TOOLS/bin/.weed.version" 2>/dev/null)" != "$WEED_MOD" ]; then
  weed_cache=${XDG_CACHE_HOME:-$HOME/.cache}/aibomgen
  weed_bin=$weed_cache/weed-${WEED_MOD##*@}
  if [ ! -x "$weed_bin" ]; then
    go_build_copy "$WEED_MOD" ./weed "$weed_bin" "$weed_cache/seaweedfs-src"
  fi
  cp "$weed_bin" "$TOOLS/bin/weed"
  echo "$WEED_MOD" > "$TOOLS/bin/.weed.version"
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
# pyyaml and pillow: the Keras trainer (trainer/keras_trainer) reads definitions and PNGs with them.
KERAS_PKGS=(keras==3.15.1 h5py==3.16.0 numpy==2.4.6 scipy==1.17.1 jax==0.10.2 jaxlib==0.10.2 pyyaml==6.0.3 pillow==12.0.0)
if [ "$(cat "$KERAS_VENV/.pins" 2>/dev/null)" != "${KERAS_PKGS[*]}" ]; then
  log "pip install ${KERAS_PKGS[*]} into .tools/venv-keras"
  python3 -m venv "$KERAS_VENV"
  if "$KERAS_VENV/bin/pip" install -q "${KERAS_PKGS[@]}"; then
    echo "${KERAS_PKGS[*]}" > "$KERAS_VENV/.pins"
  else
    log "keras install failed: the .keras round-trip test will skip; committed fixtures still work"
  fi
fi

# Wheels scripts/gpu-check.sh installs offline (--no-index) on a GPU machine that has JAX (with CUDA) but no
# Keras: keras, its small dependencies, pyyaml, pillow; binary ones for CPython 3.11-3.13 (31 MB to carry).
KERAS_WHEELS=$TOOLS/wheels
WHEEL_PINS=(keras==3.15.1 absl-py==2.5.1 rich==15.0.0 markdown-it-py==4.3.0 mdurl==0.1.2 pygments==2.21.0
  namex==0.1.0 packaging==26.4 optree==0.20.0 typing-extensions==4.16.0 pyyaml==6.0.3 pillow==12.0.0)
if [ "$(cat "$KERAS_WHEELS/.pins" 2>/dev/null)" != "${WHEEL_PINS[*]}" ]; then
  log "pip download ${WHEEL_PINS[*]} into .tools/wheels"
  wheels_ok=1
  for v in 311 312 313; do
    "$KERAS_VENV/bin/pip" download -q --no-deps --only-binary=:all: --python-version "$v" \
      --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 -d "$KERAS_WHEELS" "${WHEEL_PINS[@]}" || wheels_ok=0
  done
  [ $wheels_ok = 1 ] && echo "${WHEEL_PINS[*]}" > "$KERAS_WHEELS/.pins"
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
# Real package metadata of packages NOT installed on this host, for the image-packages test: a PyPI wheel
# (its dist-info) and a Debian .deb (its control fields become a dpkg status entry). Pinned; fetched once.
JOB_FIXTURES=$TOOLS/fixtures
mkdir -p "$JOB_FIXTURES"
if [ ! -f "$JOB_FIXTURES/tomli_w-1.2.0-py3-none-any.whl" ]; then
  log "pip download tomli_w==1.2.0 into .tools/fixtures"
  "$TOOLS/venv/bin/pip" download -q --no-deps --only-binary=:all: tomli_w==1.2.0 -d "$JOB_FIXTURES"
fi
if [ ! -f "$JOB_FIXTURES/cowsay_3.03+dfsg2-8_all.deb" ]; then
  log "apt-get download cowsay=3.03+dfsg2-8 into .tools/fixtures"
  (cd "$JOB_FIXTURES" && apt-get download -qq cowsay=3.03+dfsg2-8 2>/dev/null) ||
    { $SUDO apt-get update -qq && (cd "$JOB_FIXTURES" && apt-get download -qq cowsay=3.03+dfsg2-8 2>/dev/null); }
fi

# ---- attest area: extra verifiers (owned by server/attest) ----
# Peer verifiers for the evidence, in their own venv (model-signing pins a sigstore stack of its own): OpenSSF
# model-signing (its CLI imports OpenSSL, which 1.1.1 does not declare), check-jsonschema (SPDX 3.0.1,
# SLSA provenance v1), spdx-python-model (bindings generated from the SPDX 3.0.1 SHACL model), pyshacl (the
# SHACL shapes themselves).
ATTEST_VENV=$TOOLS/venv-attest
ATTEST_PKGS=(model-signing==1.1.1 pyopenssl==26.4.0 check-jsonschema==0.39.0 spdx-python-model==0.0.6 pyshacl==0.40.0)
if [ "$(cat "$ATTEST_VENV/.pins" 2>/dev/null)" != "${ATTEST_PKGS[*]}" ]; then
  log "pip install ${ATTEST_PKGS[*]} into .tools/venv-attest"
  python3 -m venv "$ATTEST_VENV"
  "$ATTEST_VENV/bin/pip" install -q "${ATTEST_PKGS[@]}"
  echo "${ATTEST_PKGS[*]}" > "$ATTEST_VENV/.pins"
fi
# On PATH with the other peers (.tools/bin): the README's verification commands call it by name.
ln -sf ../venv-attest/bin/model_signing "$TOOLS/bin/model_signing"
# The SPDX 3.0.1 model as the SPDX project ships it on Maven Central (spdx.org itself is not reachable here): its
# JSON-LD store's resources hold the JSON schema, the JSON-LD context and the model with its SHACL shapes (what
# pyshacl checks an export against). Pinned by version and by each file's hash.
SPDX_JAR=org.spdx:spdx-v3jsonld-store:1.0.0
SPDX_DIR=$TOOLS/spdx-3.0.1
SPDX_FILES=("schema-v3.0.1.json spdx-json-schema.json 33bb7cf6c1fd67355f387dea213df494fcaf3220d8c65a824add56c457fda9d5"
  "spdx-context-v3.0.1.jsonld spdx-context.jsonld 0338e9dfe1eb6e43de86ff912d30c6afa9a8ad5b6a4606add29805c4aa705c98"
  "spdx-model-v3.0.1.jsonld spdx-model.jsonld 51a8352df4378e1e7f75f871406fc8a0cd38c4cdd6192ac9ab67d60e8f21dcf2")
spdx_ok=1
for f in "${SPDX_FILES[@]}"; do
  set -- $f
  [ "$(sha256sum "$SPDX_DIR/$2" 2>/dev/null | cut -d' ' -f1)" = "$3" ] || spdx_ok=0
done
if [ $spdx_ok = 0 ]; then
  log "mvn dependency:get $SPDX_JAR (SPDX 3.0.1 schema, context and SHACL model)"
  mvn -q dependency:get -Dartifact="$SPDX_JAR" -Dtransitive=false >/dev/null
  IFS=: read -r g a v <<<"$SPDX_JAR"
  jar=${HOME}/.m2/repository/${g//.//}/$a/$v/$a-$v.jar
  mkdir -p "$SPDX_DIR"
  for f in "${SPDX_FILES[@]}"; do
    set -- $f
    python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
      "$jar" "resources/$1" > "$SPDX_DIR/$2"
    echo "$3  $SPDX_DIR/$2" | sha256sum -c --quiet
  done
fi
