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
#   /docker-entrypoint-initdb.d/*.sql, *.sh   run once, at the end of the initialisation (scripts that change
#                       configuration files must use $PGDATA, which points at the cluster being built then)
#
# Each of these may also be given as NAME_FILE. Started as root it fixes PGDATA's ownership and runs the
# server as postgres. `exec` makes the server PID 1 so that it receives the stop signal (SIGINT) itself.
#
# The first initialisation is atomic: a container killed at any moment of it never leaves a PG_VERSION
# without a complete cluster. The cluster is built (initdb, database, init scripts, clean shutdown) in
# $PGDATA/.stackctl-init/pgdata, on the same file system, and only then moved into $PGDATA entry by entry
# with PG_VERSION last; a manifest written before the move names the entries. On the next start:
#   - no PG_VERSION, only .stackctl-init without a manifest: a build that was interrupted; it is removed and
#     the initialisation starts again;
#   - no PG_VERSION, a manifest, and only entries it names: a move that was interrupted; it is completed;
#   - no PG_VERSION and any other file: refused, and nothing is changed or deleted.
# Volumes initialised in place by older images are checked too: a cluster that initdb did not finish is
# refused with a way to recover (STACKCTL_SET_ASIDE_INCOMPLETE=1 moves it aside, deleting nothing), and a
# cluster whose POSTGRES_DB was never created gets it.
set -Eeuo pipefail
shopt -s nullglob

SOCKET_DIR=/var/run/postgresql
PWFILE=
INIT_DIR_NAME=.stackctl-init
SET_ASIDE_PREFIX=.stackctl-set-aside.
MANIFEST_HEADER='# stackctl first initialisation: entries to move into PGDATA, PG_VERSION last'
# Databases created after initdb get OIDs from here on (FirstNormalObjectId); since PostgreSQL 15 initdb's own
# are 1 (template1), 4 (template0) and 5 (postgres), template0 being made last but one.
FIRST_NORMAL_OID=16384
TEMPLATE0_OID=4

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

# One container per data directory, from the first look at it until the server has stopped: another container
# starting on it would otherwise take this one's unfinished initialisation for an abandoned one, or start a second
# server on the same files. The swarm starts a task's replacement while the old container still stops, and
# PostgreSQL's own postmaster.pid interlock cannot see a server in another container's PID and IPC namespaces.
# The server inherits the descriptor (exec below), so the lock lasts as long as it runs.
lock_pgdata() {
  exec {LOCK_FD}<"$PGDATA"
  flock --nonblock "$LOCK_FD" && return
  log "another container still uses $PGDATA (its server, or its first initialisation); waiting for it to stop: two PostgreSQL servers on one data directory corrupt it"
  # In the background so that a stop signal ends the wait at once; the lock belongs to the descriptor's open
  # file, which this shell keeps.
  flock --wait 300 "$LOCK_FD" &
  local waiter=$!
  trap 'kill "$waiter" 2>/dev/null; exit 143' TERM
  trap 'kill "$waiter" 2>/dev/null; exit 130' INT # the image's stop signal
  wait "$waiter" || die "another container still uses $PGDATA after 300 s; run one container per volume"
  trap - TERM INT
  log "the other container stopped; going on"
}

# The entries of a directory, one per array element (NAMES), sorted, dot files included.
list_entries() {
  mapfile -d '' -t NAMES < <(find "$1" -mindepth 1 -maxdepth 1 -printf '%f\0' | sort -z)
}

# Entries of PGDATA that belong to no database and never stop an initialisation: the file system's
# lost+found and what an earlier start set aside. Neither is ever touched.
is_bystander() {
  case "$1" in
    lost+found | "$SET_ASIDE_PREFIX"*) return 0 ;;
    *) return 1 ;;
  esac
}

psql_init() {
  as_postgres psql --no-psqlrc --no-password -v ON_ERROR_STOP=1 --host "$SOCKET_DIR" --username "$POSTGRES_USER" "$@"
}

# A server for the set-up that listens on the socket only: nothing can connect over TCP (or pass a TCP health
# check) before the real server starts.
start_setup_server() {
  as_postgres pg_ctl --pgdata="$1" --wait --timeout=60 \
    -o "-c listen_addresses='' -c unix_socket_directories=$SOCKET_DIR" start
}

stop_setup_server() { as_postgres pg_ctl --pgdata="$1" --mode=fast --wait stop; }

create_database() {
  psql_init --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
}

run_init_scripts() {
  local data_dir=$1 script
  for script in /docker-entrypoint-initdb.d/*; do
    case "$script" in
      *.sql)
        log "running $script"
        psql_init --dbname "$POSTGRES_DB" --file "$script"
        ;;
      *.sh)
        log "running $script"
        PGDATA=$data_dir PGHOST=$SOCKET_DIR PGUSER=$POSTGRES_USER PGDATABASE=$POSTGRES_DB as_postgres bash "$script"
        ;;
      *) log "ignoring $script (neither .sql nor .sh)" ;;
    esac
  done
}

append_listen_all() {
  printf '\n# Added by docker-entrypoint.sh\nlisten_addresses = '"'*'"'\n' >>"$1/postgresql.conf"
}

append_host_rule() {
  printf '\n# Added by docker-entrypoint.sh\nhost all all all %s\n' "$2" >>"$1/pg_hba.conf"
}

refuse_foreign() {
  local shown
  shown=$(printf "'%s', " "${@:1:5}")
  shown=${shown%, }
  [ $# -le 5 ] || shown+=" and $(($# - 5)) more"
  die "$PGDATA holds files but no PostgreSQL database (no PG_VERSION): $shown." \
    "Nothing was initialised, changed or deleted: this image initialises only an empty data directory and" \
    "never removes files it did not create. Move these files out of the volume, or point PGDATA at an empty" \
    "directory, then start again."
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

  local init_dir="$PGDATA/$INIT_DIR_NAME"
  local cluster="$init_dir/pgdata"
  log "initialising $PGDATA (superuser $POSTGRES_USER, database $POSTGRES_DB): building it in $init_dir," \
    "then moving it into place"
  as_postgres mkdir -m 0700 "$init_dir"
  as_postgres initdb --pgdata="$cluster" "${initdb_args[@]}" "${extra_args[@]}"
  rm -f "$PWFILE"
  append_listen_all "$cluster"
  append_host_rule "$cluster" "$host_auth"

  start_setup_server "$cluster"
  if [ "$POSTGRES_DB" != postgres ]; then create_database; fi
  run_init_scripts "$cluster"
  stop_setup_server "$cluster"

  list_entries "$PGDATA"
  local name
  for name in "${NAMES[@]}"; do
    [ "$name" = "$INIT_DIR_NAME" ] || is_bystander "$name" ||
      die "'$PGDATA/$name' appeared during the initialisation (an init script must write to \$PGDATA," \
        "which is $cluster while it runs); the new cluster was left in $init_dir"
  done
  write_manifest "$init_dir"
  complete_move "$init_dir"
  log "initialisation complete"
}

write_manifest() {
  local init_dir=$1 name
  list_entries "$init_dir/pgdata"
  {
    printf '%s\n' "$MANIFEST_HEADER"
    for name in "${NAMES[@]}"; do
      [[ $name != *$'\n'* ]] || die "the new cluster holds a file whose name contains a line break"
      [ "$name" = PG_VERSION ] || printf '%s\n' "$name"
    done
    printf 'PG_VERSION\n'
  } >"$init_dir/manifest.new"
  # Everything the cluster holds is on disk before the first of it moves; the manifest appears atomically.
  sync --file-system "$init_dir"
  mv -T "$init_dir/manifest.new" "$init_dir/manifest"
  sync "$init_dir"
}

# The manifest's entries into LISTED; fails when there is no manifest of ours.
read_manifest() {
  local file=$1/manifest
  [ -f "$file" ] || return 1
  mapfile -t LISTED <"$file"
  [ "${LISTED[0]:-}" = "$MANIFEST_HEADER" ] || return 1
  LISTED=("${LISTED[@]:1}")
}

is_listed() {
  local name
  for name in "${LISTED[@]}"; do
    if [ "$name" = "$1" ]; then return 0; fi
  done
  return 1
}

# Moves the entries named by the manifest that are still in the build directory into PGDATA, PG_VERSION
# last, each rename made durable before the next step, then removes the (empty) build directory.
complete_move() {
  local init_dir=$1 name
  local cluster="$init_dir/pgdata"
  read_manifest "$init_dir" || die "$init_dir/manifest cannot be read"
  for name in "${LISTED[@]}"; do
    if [ -e "$cluster/$name" ] && [ -e "$PGDATA/$name" ]; then
      die "'$name' is both in $cluster and in $PGDATA; nothing was changed"
    fi
    if [ ! -e "$cluster/$name" ] && [ ! -e "$PGDATA/$name" ]; then
      die "'$name', named by $init_dir/manifest, is neither in $cluster nor in $PGDATA; nothing was changed"
    fi
  done
  for name in "${LISTED[@]}"; do
    if [ "$name" != PG_VERSION ] && [ -e "$cluster/$name" ]; then mv -T "$cluster/$name" "$PGDATA/$name"; fi
  done
  sync "$PGDATA"
  mv -T "$cluster/PG_VERSION" "$PGDATA/PG_VERSION"
  sync "$PGDATA"
  remove_empty_init_dir "$init_dir"
}

# After the move only the manifest and an empty directory are left; rmdir never removes anything else.
remove_empty_init_dir() {
  local init_dir=$1
  rm -f "$init_dir/manifest" "$init_dir/manifest.new"
  if ! rmdir "$init_dir/pgdata" "$init_dir" 2>/dev/null && [ -e "$init_dir" ]; then
    log "warning: $init_dir is not empty; it was left as it is"
  fi
}

# No PG_VERSION: initialise, or finish or restart an initialisation of ours, or refuse foreign files.
initialise_or_recover() {
  local init_dir="$PGDATA/$INIT_DIR_NAME" name
  local -a others=()
  list_entries "$PGDATA"
  for name in "${NAMES[@]}"; do
    [ "$name" = "$INIT_DIR_NAME" ] || is_bystander "$name" || others+=("$name")
  done

  if read_manifest "$init_dir"; then
    for name in "${others[@]}"; do
      is_listed "$name" || refuse_foreign "${others[@]}"
    done
    log "completing a first initialisation that was interrupted while it moved the finished cluster into place"
    complete_move "$init_dir"
    log "initialisation complete"
    return
  fi
  [ ${#others[@]} -eq 0 ] || refuse_foreign "${others[@]}"
  if [ -e "$init_dir" ]; then
    log "$init_dir was left by a first initialisation that was stopped before it finished (the volume holds" \
      "nothing else): removing it and initialising again"
    rm -rf -- "$init_dir"
  fi
  init_database
}

# initdb did not finish: no pg_control, or (PostgreSQL 15+) no template0, which initdb makes near its end.
initdb_unfinished() {
  local version=$1
  if [ ! -e "$PGDATA/global/pg_control" ]; then return 0; fi
  [[ $version =~ ^[0-9]+$ ]] && [ "$version" -ge 15 ] && [ ! -d "$PGDATA/base/$TEMPLATE0_OID" ]
}

# Moves everything but the bystanders into a new directory inside PGDATA, PG_VERSION last (a crash midway
# leaves the same unfinished state, set aside again on the next start). Nothing is deleted.
set_aside_unfinished() {
  local dest name
  dest="$PGDATA/$SET_ASIDE_PREFIX$(date -u +%Y%m%dT%H%M%SZ)"
  as_postgres mkdir -m 0700 "$dest"
  list_entries "$PGDATA"
  for name in "${NAMES[@]}"; do
    if [ "$name" != PG_VERSION ] && [ "$dest" != "$PGDATA/$name" ] && ! is_bystander "$name"; then
      mv -T "$PGDATA/$name" "$dest/$name"
    fi
  done
  sync "$PGDATA"
  mv -T "$PGDATA/PG_VERSION" "$dest/PG_VERSION"
  sync "$PGDATA"
  log "moved the unfinished cluster into $dest (nothing was deleted); initialising anew"
}

refuse_unfinished() {
  die "$PGDATA holds PG_VERSION but initdb never finished there ($1): its first start was stopped by an" \
    "image older than this one, which initialised in place, or the data directory is damaged. PostgreSQL" \
    "cannot start on it; nothing was changed. If this volume never held data, start the db once with" \
    "STACKCTL_SET_ASIDE_INCOMPLETE=1 (for stackctl, in the stack directory's docker-compose.override.yml:" \
    "services.db.environment) to move its files, without deleting any, into $PGDATA/$SET_ASIDE_PREFIX<time>" \
    "and initialise anew. If it held data, keep it as it is and restore your latest backup into a new stack."
}

# An older image could be stopped between initdb and creating POSTGRES_DB, leaving a cluster without it (and
# possibly without the lines that open it to TCP). A database of its own has an OID of 16384 or above: when
# base/ has none, no database was ever added, and creating the missing one (and finishing the rest of that
# initialisation) loses nothing.
repair_missing_database() {
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  [ "$POSTGRES_DB" != postgres ] || return 0
  local dir
  for dir in "$PGDATA"/base/*; do
    if [[ ${dir##*/} =~ ^[0-9]+$ ]] && [ "${dir##*/}" -ge "$FIRST_NORMAL_OID" ]; then return 0; fi
  done
  log "$PGDATA holds no database of its own: its first start was stopped before it created '$POSTGRES_DB'" \
    "(by an image older than this one); finishing that initialisation now (nothing is lost)"
  grep -Eq "^[[:space:]]*listen_addresses[[:space:]]*=" "$PGDATA/postgresql.conf" || append_listen_all "$PGDATA"
  grep -Eq '^[[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+all[[:space:]]' "$PGDATA/pg_hba.conf" ||
    append_host_rule "$PGDATA" "${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
  start_setup_server "$PGDATA"
  if [ -z "$(psql_init --dbname postgres --tuples-only --no-align --set db="$POSTGRES_DB" \
    <<<"SELECT 1 FROM pg_database WHERE datname = :'db'")" ]; then
    create_database
    log "created database '$POSTGRES_DB'"
    run_init_scripts "$PGDATA"
  fi
  stop_setup_server "$PGDATA"
}

# PG_VERSION present: start on it, after the checks for what older images could leave behind.
start_initialised() {
  local version
  version=$(<"$PGDATA/PG_VERSION")
  if [ -f "$PGDATA/$INIT_DIR_NAME/manifest" ]; then remove_empty_init_dir "$PGDATA/$INIT_DIR_NAME"; fi
  if initdb_unfinished "$version"; then
    local missing=global/pg_control
    if [ -e "$PGDATA/global/pg_control" ]; then missing="base/$TEMPLATE0_OID (template0)"; fi
    [ "${STACKCTL_SET_ASIDE_INCOMPLETE:-}" = 1 ] || refuse_unfinished "$missing is missing"
    set_aside_unfinished
    initialise_or_recover
    return
  fi
  log "$PGDATA holds a PostgreSQL $version database; skipping initialisation"
  repair_missing_database
}

[ $# -gt 0 ] || set -- postgres
# Like the official image: `command: -c fsync=off` means `postgres -c fsync=off`.
if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

if [ "$1" = postgres ] && ! wants_help "$@"; then
  if is_root; then export HOME=/var/lib/postgresql; fi
  prepare_directories
  lock_pgdata
  if [ -s "$PGDATA/PG_VERSION" ]; then
    start_initialised
  else
    initialise_or_recover
  fi
  if is_root; then
    exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
  fi
fi

exec "$@"
