#!/usr/bin/env bash
# Builds @tensorflow/tfjs-node (the native TensorFlow backend) WITHOUT its install-time download of
# libtensorflow, which these machines cannot reach: the TensorFlow C library comes from the PyPI
# `tensorflow-cpu` wheel instead (libtensorflow_cc.so.2 exports the C API tfjs-node binds to, and the wheel
# carries the headers). Opt-in: ~270 MB download, ~1.1 GB on disk, ~20–60 s of compiling.
#
#   trainer/image/build-tfjs-node.sh [dest]        (default: .tools/tfjs-node)
#
# Prints the node_modules directory to bind at /opt/node_modules in the offline image
# (trainerImageSpec({ nativeModules }) or AIBOMGEN_TFJS_NODE_MODULES). Idempotent.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEST=$(realpath -m "${1:-$ROOT/.tools/tfjs-node}")
TFJS_NODE=4.22.0
TF_WHEEL=tensorflow-cpu==2.21.0
PIN="$TFJS_NODE $TF_WHEEL"
log() { printf '[tfjs-node] %s\n' "$*" >&2; }

[ "$DEST" != "$ROOT" ] || { echo "build-tfjs-node.sh: refusing to install into the repository root" >&2; exit 2; }
if [ "$(cat "$DEST/.pins" 2>/dev/null)" = "$PIN" ] && [ -d "$DEST/node_modules/@tensorflow/tfjs-node/lib" ]; then
  echo "$DEST/node_modules"
  exit 0
fi

mkdir -p "$DEST"
cd "$DEST"
printf '{ "name": "aibomgen-tfjs-node", "private": true }\n' > package.json
log "npm install @tensorflow/tfjs-node@$TFJS_NODE (scripts off)"
npm install --prefix "$DEST" --no-audit --no-fund --ignore-scripts --loglevel=error "@tensorflow/tfjs-node@$TFJS_NODE" >&2

log "pip download $TF_WHEEL"
python3 -m pip download --quiet --no-deps -d "$DEST/.wheel" "$TF_WHEEL" >&2
WHEEL=$(ls "$DEST"/.wheel/tensorflow_cpu-*.whl | head -1)
STAGE="$DEST/.unzipped"
rm -rf "$STAGE"
unzip -q -o "$WHEEL" -d "$STAGE" \
  'tensorflow/libtensorflow_framework.so.2' 'tensorflow/libtensorflow_cc.so.2' \
  'tensorflow/include/tensorflow/c/*' 'tensorflow/include/tensorflow/core/platform/ctstring*' \
  'tensorflow/include/tensorflow/tsl/*' 'tensorflow/include/xla/tsl/c/*' 'tensorflow/include/tsl/platform/ctstring*'

DEPS="$DEST/node_modules/@tensorflow/tfjs-node/deps"
rm -rf "$DEPS"
mkdir -p "$DEPS/lib" "$DEPS/include"
cp -r "$STAGE"/tensorflow/include/* "$DEPS/include/"
mv "$STAGE"/tensorflow/libtensorflow_cc.so.2 "$STAGE"/tensorflow/libtensorflow_framework.so.2 "$DEPS/lib/"
# the names tfjs-node's install script looks for (it then skips its download) and the linker wants
for n in libtensorflow.so libtensorflow.so.2 libtensorflow.so.2.9.1; do ln -sf libtensorflow_cc.so.2 "$DEPS/lib/$n"; done
for n in libtensorflow_framework.so libtensorflow_framework.so.2.9.1; do ln -sf libtensorflow_framework.so.2 "$DEPS/lib/$n"; done
rm -rf "$STAGE" "$DEST/.wheel"

log "compiling the tfjs-node binding"
npm rebuild --prefix "$DEST" --loglevel=error @tensorflow/tfjs-node >&2
node -e "require('$DEST/node_modules/@tensorflow/tfjs-node')" >/dev/null 2>&1 \
  || { echo "build-tfjs-node.sh: the built binding does not load" >&2; exit 1; }
echo "$PIN" > "$DEST/.pins"
echo "$DEST/node_modules"
