#!/usr/bin/env bash
# Provision a rootless engine as an unprivileged user, beside the Docker engine, for the engine tests
# (test/engines/) and for users who run stackctl rootless: `podman` (Podman's Docker-compatible API) or `docker`
# (rootless dockerd through rootlesskit and slirp4netns). Measured recipe: ../shared/ENGINES.md.
# Idempotent: when the API answers and the images match the Docker engine's, it returns in about a second.
# Prints `DOCKER_HOST=unix://…` for the engine on stdout (everything else goes to stderr); run stackctl as the
# engine's user with it (the API must read the stack's 0600 password file, which that user owns).
#
# What it does, only where missing:
#   1. apt-get install rootlesskit slirp4netns uidmap fuse-overlayfs (and podman for `podman`)
#   2. the user (default stackctl-podman / stackctl-docker) with a subuid/subgid range of 65536 ids
#   3. /dev/net/tun readable and writable by everyone (0666, as udev makes it; 0600 here without udev):
#      slirp4netns gives rootless containers their network through it
#   4. XDG_RUNTIME_DIR /run/user/UID, owned by the user, mode 700 (no systemd/logind here to make it)
#   5. podman: ~/.config/containers/storage.conf with the overlay driver (otherwise the slow vfs) and
#      containers.conf with ulimits this host allows ("error setting rlimit type 7" otherwise)
#   6. starts the service (no systemd) as the user and waits for its API
#   7. copies the stack's base images from the Docker engine (no registry here) when the engine lacks them or
#      holds another build under the name
#
# Environment:
#   STACKCTL_ROOTLESS_USER    the user (default stackctl-podman or stackctl-docker)
#   STACKCTL_ROOTLESS_IMAGES  images to copy (default: stackctl/postgres:17 stackctl/node:20)
set -euo pipefail

KIND=${1:-}
case "$KIND" in
  podman | docker) ;;
  *) printf 'usage: %s podman|docker\n' "$0" >&2; exit 2 ;;
esac
log() { printf '[rootless-%s] %s\n' "$KIND" "$*" >&2; }
die() { printf '[rootless-%s] error: %s\n' "$KIND" "$*" >&2; exit 1; }

USER_NAME=${STACKCTL_ROOTLESS_USER:-stackctl-$KIND}
IMAGES=${STACKCTL_ROOTLESS_IMAGES:-stackctl/postgres:17 stackctl/node:20}
SERVICE_LOG=/var/log/stackctl-rootless-$KIND.log

[ "$(id -u)" = 0 ] || die "must run as root to add the user and install packages (try: sudo $0 $KIND)"
export DEBIAN_FRONTEND=noninteractive

packages="rootlesskit slirp4netns uidmap fuse-overlayfs"
[ "$KIND" = podman ] && packages="$packages podman netavark aardvark-dns"
missing=$(for p in $packages; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"; done)
if [ -n "$missing" ]; then
  log "installing $(echo $missing)"
  apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
[ "$KIND" = podman ] || [ -x /usr/share/docker.io/contrib/dockerd-rootless.sh ] \
  || die "no /usr/share/docker.io/contrib/dockerd-rootless.sh: install docker.io (sudo bash scripts/docker-engine.sh)"

if ! id -u "$USER_NAME" >/dev/null 2>&1; then
  useradd -m -s /bin/bash "$USER_NAME"
  log "added user $USER_NAME"
fi
for file in /etc/subuid /etc/subgid; do
  if ! grep -q "^$USER_NAME:" "$file" 2>/dev/null; then
    # The next free range after every range already given out (at least 100000, as useradd starts).
    start=$(awk -F: 'BEGIN {next_ = 100000} {end_ = $2 + $3; if (end_ > next_) next_ = end_} END {print next_}' "$file" 2>/dev/null || echo 100000)
    if [ "$file" = /etc/subuid ]; then usermod --add-subuids "$start-$((start + 65535))" "$USER_NAME"
    else usermod --add-subgids "$start-$((start + 65535))" "$USER_NAME"; fi
    log "gave $USER_NAME ids $start-$((start + 65535)) in $file"
  fi
done
USER_ID=$(id -u "$USER_NAME")
HOME_DIR=$(getent passwd "$USER_NAME" | cut -d: -f6)
RUN_DIR=/run/user/$USER_ID

if ! runuser -u "$USER_NAME" -- test -r /dev/net/tun -a -w /dev/net/tun; then
  [ -c /dev/net/tun ] || die "no /dev/net/tun: load the tun module (modprobe tun)"
  chmod 0666 /dev/net/tun
  log "made /dev/net/tun 0666 (udev's mode; slirp4netns needs it for rootless networking)"
fi

mkdir -p "$RUN_DIR"
chown "$USER_NAME:" "$RUN_DIR"
chmod 0700 "$RUN_DIR"

# The user's environment for the engine: its runtime dir and home (runuser keeps root's otherwise).
as_user() {
  (cd / && runuser -u "$USER_NAME" -- env -u DOCKER_HOST XDG_RUNTIME_DIR="$RUN_DIR" HOME="$HOME_DIR" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@")
}

if [ "$KIND" = podman ]; then
  SOCKET=$RUN_DIR/podman/podman.sock
  conf=$HOME_DIR/.config/containers
  as_user mkdir -p "$conf" "$RUN_DIR/podman"
  if [ ! -e "$conf/storage.conf" ]; then
    printf '[storage]\ndriver = "overlay"\n' | as_user tee "$conf/storage.conf" >/dev/null
    log "wrote $conf/storage.conf (overlay; vfs otherwise, which copies every layer)"
  fi
  if [ ! -e "$conf/containers.conf" ]; then
    printf '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n' | as_user tee "$conf/containers.conf" >/dev/null
    log "wrote $conf/containers.conf (ulimits this host allows)"
  fi
else
  SOCKET=$RUN_DIR/docker.sock
fi

api_ok() { curl -sf --max-time 5 --unix-socket "$SOCKET" http://engine/_ping >/dev/null 2>&1; }
if ! api_ok; then
  rm -f "$SOCKET"
  log "starting rootless $KIND as $USER_NAME on unix://$SOCKET (log: $SERVICE_LOG)"
  if [ "$KIND" = podman ]; then
    # From / (as_user): conmon inherits the service's working directory and fails once it is gone.
    as_user nohup podman system service --time=0 "unix://$SOCKET" >>"$SERVICE_LOG" 2>&1 &
  else
    as_user nohup /usr/share/docker.io/contrib/dockerd-rootless.sh --host "unix://$SOCKET" >>"$SERVICE_LOG" 2>&1 &
  fi
  for _ in $(seq 1 300); do api_ok && break; sleep 0.1; done
  api_ok || die "rootless $KIND did not answer on $SOCKET within 30 s (see $SERVICE_LOG)"
fi

for image in $IMAGES; do
  want=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null) || die "the Docker engine has no $image: build it first (stackctl images build)"
  if [ "$KIND" = podman ]; then
    have=$(as_user podman image inspect --format '{{.Id}}' "localhost/$image" 2>/dev/null || true)
  else
    have=$(docker --host "unix://$SOCKET" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
  fi
  if [ "sha256:$have" != "$want" ] && [ "$have" != "$want" ]; then
    log "copying $image from the Docker engine"
    if [ "$KIND" = podman ]; then docker save "$image" | as_user podman load -q >/dev/null
    else docker save "$image" | docker --host "unix://$SOCKET" load -q >/dev/null; fi
  fi
done
log "rootless $KIND answers on unix://$SOCKET; run stackctl as $USER_NAME with:"
echo "DOCKER_HOST=unix://$SOCKET"
