#!/usr/bin/env bash
# A development image (the platform's jobs run trainer/image/build-image.ts's self-contained image instead):
# builds an offline skeleton image for podman, with no network and no base image:
# an almost empty "skeleton" rootfs (bin/lib/lib64/sbin → usr/, /etc/passwd+group with nobody 65534, /tmp,
# mount points) imported with `podman import`. At run time the host's /usr (node and its libraries) and the
# built trainer (trainer/dist) are bound read-only — see trainer/image/spec.ts for the exact run spec.
#
#   trainer/image/build-offline.sh [--force] [--tag aibomgen-trainer:local]
#
# Idempotent: an existing image with the same skeleton version is kept. Prints the image id on stdout.
set -euo pipefail

TAG=${AIBOMGEN_TRAINER_IMAGE:-aibomgen-trainer:local}
FORCE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --force) FORCE=1 ;;
    --tag) TAG=$2; shift ;;
    *) echo "build-offline.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done

# Bump when the skeleton below changes: an image with another version is rebuilt.
SKELETON_VERSION=1
LABEL=org.aibomgen.trainer.skeleton

command -v podman >/dev/null || { echo "build-offline.sh: podman is not installed" >&2; exit 1; }
NODE=$(readlink -f "$(command -v node)") || { echo "build-offline.sh: node not found on PATH" >&2; exit 1; }
case "$NODE" in
  /usr/*) ;;
  *) echo "build-offline.sh: note: node is at $NODE (outside /usr); spec.ts binds its prefix too" >&2 ;;
esac

# One build at a time (tests of several areas may ask for the image at once).
exec 9>"${TMPDIR:-/tmp}/aibomgen-trainer-image.lock"
flock 9

if [ "$FORCE" = 0 ] && podman image exists "$TAG" 2>/dev/null; then
  have=$(podman image inspect --format "{{ index .Labels \"$LABEL\" }}" "$TAG" 2>/dev/null || true)
  if [ "$have" = "$SKELETON_VERSION" ]; then
    podman image inspect --format '{{.Id}}' "$TAG"
    exit 0
  fi
fi

ROOTFS=$(mktemp -d "${TMPDIR:-/tmp}/aibomgen-trainer-rootfs.XXXXXX")
trap 'rm -rf "$ROOTFS"' EXIT
cd "$ROOTFS"
mkdir -p usr etc tmp opt/trainer input output proc sys dev run var/tmp
ln -s usr/bin bin
ln -s usr/lib lib
ln -s usr/lib64 lib64
ln -s usr/sbin sbin
chmod 1777 tmp var/tmp
cat > etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
cat > etc/group <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
# Deterministic archive: same skeleton → same layer digest.
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$ROOTFS" -cf - . |
  podman import --quiet \
    --change "USER 65534:65534" \
    --change "WORKDIR /tmp" \
    --change "ENV PATH=/usr/local/bin:/usr/bin:/bin" \
    --change "ENV HOME=/tmp" \
    --change "ENV NODE_ENV=production" \
    --change "LABEL $LABEL=$SKELETON_VERSION" \
    --change "LABEL org.opencontainers.image.description=AIBoMGen offline trainer skeleton: bind host /usr and trainer/dist read-only" \
    --change 'CMD ["/usr/bin/node", "/opt/trainer/trainer.mjs"]' \
    - "$TAG" >/dev/null
podman image inspect --format '{{.Id}}' "$TAG"
