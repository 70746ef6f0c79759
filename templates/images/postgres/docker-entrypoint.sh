#!/usr/bin/env bash
# Entrypoint of stackctl/postgres: the official postgres image's contract on Debian's PostgreSQL packages.
#
#   POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE  the superuser's password; one is required to initialise
#                                                (unless POSTGRES_HOST_AUTH_METHOD=trust)
#   POSTGRES_USER       superuser name (default postgres)
#   POSTGRES_DB         database created at initialisation (default: the user's name)
#   POSTGRES_INITDB_ARGS extra initdb arguments, e.g. "--data-checksums"
#   POSTGRES_HOST_AUTH_METHOD  authentication for TCP connections (default scram-sha-256)
#   PGDATA              data directory (default /var/lib/postgresql/data); initialised only when it holds no
#                       PG_VERSION, i.e. never over an existing database
#   /docker-entrypoint-initdb.d/*.sql, *.sh   run once, right after initialisation
#
# Each of these may also be given as NAME_FILE. Started as root it fixes PGDATA's ownership and runs the
# server as postgres. `exec` makes the server PID 1 so that it receives the stop signal (SIGINT) itself.
set -Eeuo pipefail
shopt -s nullglob

SOCKET_DIR=/var/run/postgresql
PWFILE=

log() { printf '%s [entrypoint] %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

is_root() { [ "$(id -u)" = 0 ]; }

# Sets VAR from $VAR or from the file named by $VAR_FILE (one of them, not both), else to the default.
# A value read from a file is not exported: the password never reaches the server's environment.
file_env() {
  local var=$1 default=${2:-}
  local file_var="${var}_FILE"
  local value=${!var:-} file=${!file_var:-}
  if [ -n "$value" ] && [ -n "$file" ]; then
    die "both $var and $file_var are set; set only one of them"
  fi
  if [ -n "$file" ]; then
    [ -r "$file" ] || die "$file_var names '$file', which does not exist or cannot be read"
    value=$(<"$file")
  fi
  printf -v "$var" '%s' "${value:-$default}"
  unset "$file_var"
}

# Runs a command as postgres when started as root (Debian has no gosu: setpriv is in util-linux).
as_postgres() {
  if is_root; then
    setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
  else
    "$@"
  fi
}

# The official image skips all setup for `postgres --help` and friends.
wants_help() {
  local arg
  for arg; do
    case "$arg" in
      -'?' | --help | --describe-config | -V | --version) return 0 ;;
    esac
  done
  return 1
}

prepare_directories() {
  mkdir -p "$PGDATA" "$SOCKET_DIR"
  if is_root; then
    find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
    chown postgres:postgres "$SOCKET_DIR"
    chmod 2775 "$SOCKET_DIR"
  fi
  # PostgreSQL refuses a data directory that others can read; as another user this may not be ours to fix.
  chmod 0700 "$PGDATA" 2>/dev/null || true
}

psql_init() {
  as_postgres psql --no-psqlrc --no-password -v ON_ERROR_STOP=1 --host "$SOCKET_DIR" --username "$POSTGRES_USER" "$@"
}

run_init_scripts() {
  local script
  for script in /docker-entrypoint-initdb.d/*; do
    case "$script" in
      *.sql)
        log "running $script"
        psql_init --dbname "$POSTGRES_DB" --file "$script"
        ;;
      *.sh)
        log "running $script"
        PGHOST=$SOCKET_DIR PGUSER=$POSTGRES_USER PGDATABASE=$POSTGRES_DB as_postgres bash "$script"
        ;;
      *) log "ignoring $script (neither .sql nor .sh)" ;;
    esac
  done
}

init_database() {
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  local host_auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$host_auth" != trust ]; then
    die "the database is uninitialised and no superuser password is set: set POSTGRES_PASSWORD or" \
      "POSTGRES_PASSWORD_FILE (or POSTGRES_HOST_AUTH_METHOD=trust to allow connections without one)"
  fi

  # TCP connections need the password; the socket is only reachable inside the container.
  local -a initdb_args=(--username="$POSTGRES_USER" --auth-local=trust --auth-host="$host_auth")
  if [ -n "$POSTGRES_PASSWORD" ]; then
    PWFILE=$(mktemp)
    trap 'rm -f "$PWFILE"' EXIT
    printf '%s\n' "$POSTGRES_PASSWORD" >"$PWFILE"
    if is_root; then chown postgres:postgres "$PWFILE"; fi
    initdb_args+=(--pwfile="$PWFILE")
  fi
  local -a extra_args=()
  read -r -a extra_args <<<"$POSTGRES_INITDB_ARGS"

  log "initialising $PGDATA (superuser $POSTGRES_USER, database $POSTGRES_DB)"
  as_postgres initdb "${initdb_args[@]}" "${extra_args[@]}"
  rm -f "$PWFILE"
  printf '\n# Added by docker-entrypoint.sh\nlisten_addresses = '"'*'"'\n' >>"$PGDATA/postgresql.conf"
  printf '\n# Added by docker-entrypoint.sh\nhost all all all %s\n' "$host_auth" >>"$PGDATA/pg_hba.conf"

  # A socket-only server for the set-up: nothing can connect over TCP (or pass a TCP health check) before the
  # real server starts.
  as_postgres pg_ctl --pgdata="$PGDATA" --wait --timeout=60 \
    -o "-c listen_addresses='' -c unix_socket_directories=$SOCKET_DIR" start
  if [ "$POSTGRES_DB" != postgres ]; then
    psql_init --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  run_init_scripts
  as_postgres pg_ctl --pgdata="$PGDATA" --mode=fast --wait stop
  log "initialisation complete"
}

[ $# -gt 0 ] || set -- postgres
# Like the official image: `command: -c fsync=off` means `postgres -c fsync=off`.
if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

if [ "$1" = postgres ] && ! wants_help "$@"; then
  if is_root; then export HOME=/var/lib/postgresql; fi
  prepare_directories
  if [ -s "$PGDATA/PG_VERSION" ]; then
    log "$PGDATA holds a PostgreSQL $(<"$PGDATA/PG_VERSION") database; skipping initialisation"
  else
    init_database
  fi
  if is_root; then
    exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
  fi
fi

exec "$@"
