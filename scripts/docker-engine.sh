#!/usr/bin/env bash
# Provision a Docker engine with Compose v2 on a Debian/Ubuntu host that has none running.
# Idempotent: when the engine answers and Compose v2 is installed it returns in well under a second.
#
# What it does, only where missing:
#   1. apt-get install docker.io debootstrap (from the host's own mirror; the release is never changed)
#   2. Compose v2 as a CLI plugin, taken from Debian 13's docker-compose package through a *separate*
#      apt configuration (the host's sources list is not touched)
#   3. starts dockerd in the background (no systemd), logging to $STACKCTL_DOCKERD_LOG, and waits for it
#
# Environment:
#   STACKCTL_DOCKERD_LOG   where dockerd writes its log (default /var/log/dockerd.log)
#   STACKCTL_DOCKERD_PIDFILE  pid file written when this script starts dockerd (default /var/run/stackctl-dockerd.pid)
#   STACKCTL_COMPOSE_SUITE Debian suite that provides Compose v2 (default trixie)
#   STACKCTL_DOCKERD_ARGS  flags for the dockerd this script starts (default --userland-proxy=false: published
#                          ports go through the kernel's NAT rules instead of a docker-proxy process copying
#                          every byte; on 2 cores that took 0.4 of a core and ~40% of the API's req/s)
set -euo pipefail

log() { printf '[docker-engine] %s\n' "$*" >&2; }
die() { printf '[docker-engine] error: %s\n' "$*" >&2; exit 1; }

DOCKERD_LOG=${STACKCTL_DOCKERD_LOG:-/var/log/dockerd.log}
PIDFILE=${STACKCTL_DOCKERD_PIDFILE:-/var/run/stackctl-dockerd.pid}
COMPOSE_SUITE=${STACKCTL_COMPOSE_SUITE:-trixie}
DOCKERD_ARGS=${STACKCTL_DOCKERD_ARGS---userland-proxy=false}
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
MIRROR=${STACKCTL_DEBIAN_MIRROR:-http://deb.debian.org/debian}

compose_v2_ok() { docker compose version --short 2>/dev/null | grep -Eq '^v?2\.'; }
engine_ok() { docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

if engine_ok && compose_v2_ok && command -v debootstrap >/dev/null; then
  exit 0
fi

[ "$(id -u)" = 0 ] || die "must run as root to install packages and start dockerd (try: sudo $0)"
export DEBIAN_FRONTEND=noninteractive

apt_updated=0
apt_update() {
  [ "$apt_updated" = 1 ] && return 0
  log "apt-get update"
  # Third-party sources on the host may be unreachable; what matters is that the Debian mirror answers.
  apt-get update -qq >/dev/null 2>&1 || log "apt-get update reported errors (continuing; install will tell)"
  apt_updated=1
}

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  apt_update
  log "installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed; check that the Debian mirror is reachable"
fi

if ! compose_v2_ok; then
  log "installing Compose v2 from Debian ${COMPOSE_SUITE} (separate apt config; host sources untouched)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/archives/partial"
  echo "deb ${MIRROR} ${COMPOSE_SUITE} main" >"$work/sources.list"
  aptopts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::lists=$work/lists" -o "Dir::Cache::archives=$work/archives"
    -o "APT::Get::List-Cleanup=0" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
  apt-get "${aptopts[@]}" update -qq >/dev/null || die "cannot read the ${COMPOSE_SUITE} index from ${MIRROR}"
  (cd "$work" && apt-get "${aptopts[@]}" download -qq docker-compose >/dev/null) \
    || die "cannot download docker-compose from ${COMPOSE_SUITE}"
  dpkg-deb -x "$work"/docker-compose_*.deb "$work/root"
  install -D -m 0755 "$work/root/usr/libexec/docker/cli-plugins/docker-compose" "$PLUGIN_DIR/docker-compose"
  compose_v2_ok || die "Compose plugin installed at $PLUGIN_DIR but 'docker compose version' does not report v2"
fi

if ! engine_ok; then
  if [ -S /var/run/docker.sock ] && ! pgrep -x dockerd >/dev/null; then
    rm -f /var/run/docker.sock   # stale socket from a dead daemon
  fi
  if ! pgrep -x dockerd >/dev/null; then
    log "starting dockerd ${DOCKERD_ARGS} (log: $DOCKERD_LOG)"
    # Output goes to a file, never to our stdout: a daemon holding the caller's pipe open would keep CI waiting.
    # A running engine is never restarted to change its flags: they apply to the dockerd started here.
    # From /, like a service: the checkout this script runs from may be removed while the engine runs.
    # shellcheck disable=SC2086 # word splitting of the flags is intended
    (cd / && exec nohup dockerd $DOCKERD_ARGS) >"$DOCKERD_LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
  fi
  for _ in $(seq 1 120); do
    engine_ok && break
    sleep 0.5
  done
  engine_ok || { tail -n 20 "$DOCKERD_LOG" >&2 || true; die "dockerd did not answer within 60 s (log: $DOCKERD_LOG)"; }
fi

log "engine $(docker info --format '{{.ServerVersion}}'), compose $(docker compose version --short)"
