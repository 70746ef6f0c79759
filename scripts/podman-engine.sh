#!/usr/bin/env bash
# Provision rootful Podman behind its Docker-compatible API, beside the Docker engine, for the engine tests
# (test/engines/) and for users who run stackctl on Podman. Measured recipe: ../shared/ENGINES.md.
# Idempotent: when the API answers and the images match the Docker engine's, it returns in about a second.
#
# What it does, only where missing:
#   1. apt-get install podman netavark aardvark-dns (Debian 12: Podman 4.3.1; netavark + aardvark-dns give
#      containers the DNS names Compose networks need — without them the app cannot resolve `db`)
#   2. /etc/containers/containers.conf: ulimits this host allows (Podman's defaults exceed its hard limits:
#      "error setting rlimit type 7") and the netavark network backend; an existing file is left alone
#   3. starts `podman system service` (no systemd) on $STACKCTL_PODMAN_SOCKET and waits for it
#   4. copies the stack's base images from the Docker engine (no registry here) when Podman lacks them or
#      holds another build under the name
#
# Environment:
#   STACKCTL_PODMAN_SOCKET  the API socket (default /run/podman/podman.sock)
#   STACKCTL_PODMAN_LOG     the service's log (default /var/log/podman-service.log)
#   STACKCTL_PODMAN_IMAGES  images to copy (default: stackctl/postgres:17 stackctl/node:20)
set -euo pipefail

log() { printf '[podman-engine] %s\n' "$*" >&2; }
die() { printf '[podman-engine] error: %s\n' "$*" >&2; exit 1; }

SOCKET=${STACKCTL_PODMAN_SOCKET:-/run/podman/podman.sock}
SERVICE_LOG=${STACKCTL_PODMAN_LOG:-/var/log/podman-service.log}
IMAGES=${STACKCTL_PODMAN_IMAGES:-stackctl/postgres:17 stackctl/node:20}
CONF=/etc/containers/containers.conf

[ "$(id -u)" = 0 ] || die "must run as root to install packages and start the Podman service (try: sudo $0)"
export DEBIAN_FRONTEND=noninteractive

if ! command -v podman >/dev/null || ! [ -x /usr/lib/podman/netavark ]; then
  log "installing podman, netavark, aardvark-dns"
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends podman netavark aardvark-dns uidmap >/dev/null
fi

if [ ! -e "$CONF" ]; then
  mkdir -p "$(dirname "$CONF")"
  printf '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n\n[network]\nnetwork_backend = "netavark"\n' > "$CONF"
  log "wrote $CONF (ulimits this host allows, netavark networking)"
fi

api_ok() { curl -sf --max-time 5 --unix-socket "$SOCKET" http://podman/_ping >/dev/null 2>&1; }
if ! api_ok; then
  mkdir -p "$(dirname "$SOCKET")"
  rm -f "$SOCKET"
  log "starting podman system service on unix://$SOCKET (log: $SERVICE_LOG)"
  # From /: conmon inherits the service's working directory and cannot start a container once it is gone
  # ("[conmon:e] Failed to get working directory"), as happened when the checkout it was started from was removed.
  (cd / && exec nohup podman system service --time=0 "unix://$SOCKET") >>"$SERVICE_LOG" 2>&1 &
  for _ in $(seq 1 100); do api_ok && break; sleep 0.1; done
  api_ok || die "the Podman service did not answer on $SOCKET (see $SERVICE_LOG)"
fi

for image in $IMAGES; do
  want=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null) || die "the Docker engine has no $image: build it first (stackctl images build)"
  have=$(podman image inspect --format '{{.Id}}' "localhost/$image" 2>/dev/null || true)
  if [ "sha256:$have" != "$want" ] && [ "$have" != "$want" ]; then
    log "copying $image from the Docker engine"
    docker save "$image" | podman load -q >/dev/null
  fi
done
log "podman $(podman --version | awk '{print $3}') answers on unix://$SOCKET"
