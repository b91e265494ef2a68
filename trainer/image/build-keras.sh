#!/usr/bin/env bash
# Builds the Keras trainer's image offline as a docker-archive tarball (`docker load` / dockerode loadImage):
#   .tools/images/aibomgen-trainer-keras.tar   (prints its path)
#
# Debian bookworm's `essential` variant with python3 (mmdebstrap, from the host's apt sources; apt is reachable on
# the build machines), the pinned wheels installed with --no-index into /opt/site (downloaded once into
# ~/.cache/aibomgen/wheels-image, from pip's cache or the index), and trainer/keras_trainer in /opt/trainer. One layer;
# deterministic tar (sorted names, mtime 0, numeric owners; SOURCE_DATE_EPOCH for mmdebstrap); user 65534;
# CMD runs the module (the runner appends `--input /input --output /output`). Rebuilt only when a stamp of its
# inputs (this script, the pins, the trainer's sources) changes. Needs root (mmdebstrap --mode=root) here.
# `--present`: only say whether the tarball for the current inputs exists (here or in the cache): print its path,
# or exit 3 without building (the automatic trainer choice, server/jobs/runners/trainer-choice.ts, asks).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/.tools/images/aibomgen-trainer-keras.tar
# Wheels and built tarballs are also kept under the user's cache (by the stamp below), so another clone on this
# machine (CI runs on clean clones) reuses them instead of downloading ~400 MB and running mmdebstrap again.
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/aibomgen
WHEELS=$CACHE/wheels-image
PY=$ROOT/.tools/venv-keras/bin/python
# Python 3.11 = bookworm's python3: the cp311 wheels below are what the image's interpreter loads.
PINS=(keras==3.15.1 absl-py==2.5.1 rich==15.0.0 markdown-it-py==4.3.0 mdurl==0.1.2 pygments==2.21.0 namex==0.1.0
  packaging==26.4 optree==0.20.0 typing-extensions==4.16.0 h5py==3.16.0 numpy==2.4.6 scipy==1.17.1 jax==0.10.2
  jaxlib==0.10.2 ml-dtypes==0.7.0 opt-einsum==3.4.0 pyyaml==6.0.3 pillow==12.0.0)
log() { printf '[build-keras] %s\n' "$*" >&2; }

sources() { (cd "$ROOT/trainer" && find keras_trainer -name '*.py' | sort | xargs sha256sum); }
stamp=$( { cat "$0"; printf '%s\n' "${PINS[@]}"; sources; } | sha256sum | cut -c1-16)
if [ -f "$OUT" ] && [ "$(cat "$OUT.stamp" 2>/dev/null)" = "$stamp" ]; then echo "$OUT"; exit 0; fi
cached=$CACHE/aibomgen-trainer-keras-$stamp.tar
if [ -f "$cached" ]; then
  mkdir -p "$(dirname "$OUT")"
  ln -f "$cached" "$OUT" 2>/dev/null || cp "$cached" "$OUT"
  echo "$stamp" > "$OUT.stamp"
  echo "$OUT"
  exit 0
fi
[ "${1:-}" = --present ] && exit 3
command -v mmdebstrap >/dev/null || { log "mmdebstrap is missing (scripts/setup.sh installs it)"; exit 1; }
started=$(date +%s)

if [ "$(cat "$WHEELS/.pins" 2>/dev/null)" != "${PINS[*]}" ]; then
  log "pip download ${#PINS[@]} pinned wheels (cp311, manylinux) into $WHEELS"
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 311 --platform manylinux2014_x86_64 \
    --platform manylinux_2_27_x86_64 --platform manylinux_2_28_x86_64 -d "$WHEELS" "${PINS[@]}"
  echo "${PINS[*]}" > "$WHEELS/.pins"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
export SOURCE_DATE_EPOCH=0
log "mmdebstrap bookworm (essential + python3) → rootfs"
mmdebstrap --quiet --mode=root --variant=essential --include=python3-minimal,libpython3.11-stdlib,libstdc++6 \
  --dpkgopt='path-exclude=/usr/share/{doc,man,locale,info}/*' bookworm "$rootfs" >&2
log "pip install --no-index the pinned wheels → /opt/site"
"$PY" -m pip install -q --no-index --no-deps --no-compile --find-links "$WHEELS" --target "$rootfs/opt/site" \
  --python-version 311 --only-binary=:all: "${PINS[@]}"
mkdir -p "$rootfs/opt/trainer"
(cd "$ROOT/trainer" && find keras_trainer -name '*.py' -print0 | xargs -0 cp --parents -t "$rootfs/opt/trainer")
rm -rf "$rootfs/opt/site/bin" "$rootfs/var/cache/"* "$rootfs/var/log/"*
# A tiny check that the image's python runs the module (imports the trainer, Keras and JAX).
chroot "$rootfs" env PYTHONPATH=/opt/site:/opt/trainer KERAS_BACKEND=jax KERAS_HOME=/tmp/keras HOME=/tmp \
  PYTHONDONTWRITEBYTECODE=1 python3 -c 'import keras_trainer.train, jax; print("image python:", jax.devices())' >&2
rm -rf "${rootfs:?}/tmp/"* "$rootfs/etc/machine-id" # what the check wrote; machine-id differs per build
touch -d @0 "$rootfs/tmp"

layer=$work/layer.tar
tar -C "$rootfs" --sort=name --mtime=@0 --numeric-owner \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -cf "$layer" .
diff_id=$(sha256sum "$layer" | cut -d' ' -f1)
config=$work/config.json
env_json='"PATH=/usr/local/bin:/usr/bin:/bin","PYTHONPATH=/opt/site:/opt/trainer","KERAS_BACKEND=jax",'
env_json+='"KERAS_HOME=/tmp/keras","HOME=/tmp","PYTHONDONTWRITEBYTECODE=1"'
labels='"org.opencontainers.image.title":"aibomgen-trainer-keras","dev.aibomgen.trainer.framework":"keras"'
{
  printf '{"architecture":"amd64","os":"linux","config":{"User":"65534:65534","WorkingDir":"/tmp",'
  printf '"Env":[%s],"Cmd":["python3","-m","keras_trainer"],' "$env_json"
  printf '"Labels":{%s,"dev.aibomgen.trainer.inputs":"%s"}},' "$labels" "$stamp"
  printf '"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},' "$diff_id"
  printf '"history":[{"created_by":"trainer/image/build-keras.sh"}]}'
} > "$config"
cfg_id=$(sha256sum "$config" | cut -d' ' -f1)
mkdir -p "$work/archive/$diff_id"
mv "$layer" "$work/archive/$diff_id/layer.tar"
mv "$config" "$work/archive/$cfg_id.json"
printf '[{"Config":"%s.json","RepoTags":["aibomgen/trainer-keras:%s"],"Layers":["%s/layer.tar"]}]' \
  "$cfg_id" "$stamp" "$diff_id" > "$work/archive/manifest.json"
mkdir -p "$(dirname "$OUT")"
tar -C "$work/archive" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$OUT.tmp" .
mv "$OUT.tmp" "$OUT"
echo "$stamp" > "$OUT.stamp"
mkdir -p "$CACHE" && rm -f "$CACHE"/aibomgen-trainer-keras-*.tar && (ln -f "$OUT" "$cached" 2>/dev/null || cp "$OUT" "$cached")
log "built $OUT ($(du -h "$OUT" | cut -f1), image sha256:$cfg_id) in $(( $(date +%s) - started )) s"
echo "$OUT"
