#!/bin/sh
# The entrypoint of tools/images/postgresql, written for shopmesh: the part of the official postgres image's
# contract that helm/shopmesh's bundled PostgreSQL relies on, for Debian's postgresql-15.
#
#   docker-entrypoint.sh postgres [ARG...]   (also when the first argument starts with "-": postgres goes first)
#     POSTGRES_USER      the superuser (default postgres)
#     POSTGRES_PASSWORD  its password; required when PGDATA holds no database yet
#     POSTGRES_DB        a database made at initialisation if it is not "postgres" (default POSTGRES_USER)
#     PGDATA             the data directory (default /var/lib/postgresql/data), made with mode 0700
#   docker-entrypoint.sh COMMAND [ARG...]    anything else: exec'd as is
#
# An empty PGDATA (no PG_VERSION) is initialised first: initdb (UTF8, the superuser's password from a file, never
# argv), pg_hba.conf below, then a temporary server on the unix socket only (/var/run/postgresql, no TCP) runs
# /docker-entrypoint-initdb.d/*.sh (executable: run, else sourced) and *.sql (psql) in sorted order, and is
# stopped. Then postgres is exec'd: it is the container's PID 1, and the image's STOPSIGNAL (SIGINT) is its fast
# shutdown. It writes only to PGDATA, /var/run/postgresql and /tmp (a read-only root filesystem is fine).
#
# pg_hba.conf: the superuser needs no password over the socket and loopback (the pod's own containers: probes,
# init scripts), like the official image, whose initdb defaults trust every role there; every other role, and
# every connection from elsewhere, authenticates with its password (scram-sha-256).
#
# The official image's other knobs (POSTGRES_INITDB_ARGS, POSTGRES_INITDB_WALDIR, POSTGRES_HOST_AUTH_METHOD, the
# *_FILE variables, *.sql.gz init files, starting as root) are not implemented; the variables are refused.
set -eu

socket_dir=/var/run/postgresql

log() { printf 'docker-entrypoint.sh: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

[ "$#" -gt 0 ] || set -- postgres
case "$1" in -*) set -- postgres "$@" ;; esac
[ "$1" = postgres ] || exec "$@"
for arg; do
  case "$arg" in --help | -\? | --version | -V | --describe-config) exec "$@" ;; esac
done

for var in POSTGRES_INITDB_ARGS POSTGRES_INITDB_WALDIR POSTGRES_HOST_AUTH_METHOD POSTGRES_PASSWORD_FILE \
  POSTGRES_USER_FILE POSTGRES_DB_FILE POSTGRES_INITDB_ARGS_FILE; do
  eval "value=\${$var:-}"
  [ -z "$value" ] || die "$var is set, and this image does not implement it (tools/images/postgresql)"
done
[ "$(id -u)" != 0 ] || die "running as root; PostgreSQL refuses to: run as the image's postgres user, 999:999"
id -un >/dev/null 2>&1 ||
  die "uid $(id -u) has no entry in /etc/passwd, which initdb and postgres need: run as 999:999 (postgres)"

: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${PGDATA:=/var/lib/postgresql/data}"
export POSTGRES_USER POSTGRES_DB PGDATA
newline='
'
case "$POSTGRES_USER" in *'"'* | *"$newline"*) die "POSTGRES_USER may not contain '\"' or a newline" ;; esac

mkdir -p "$PGDATA"
chmod 0700 "$PGDATA" 2>/dev/null || true # initdb and postgres say what is wrong if it stays wrong

if [ -s "$PGDATA/PG_VERSION" ]; then
  log "$PGDATA holds a database: no initialisation"
  exec "$@"
fi

[ -n "${POSTGRES_PASSWORD:-}" ] || die "$PGDATA holds no database yet and POSTGRES_PASSWORD is empty: set \
POSTGRES_PASSWORD to the password of the superuser $POSTGRES_USER, which initialisation needs"

log "initialising $PGDATA (superuser $POSTGRES_USER)"
pwfile=$(mktemp) # /tmp, mode 0600
trap 'rm -f "$pwfile"' EXIT
printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
# --auth-*: stated, so initdb does not warn about trust; pg_hba.conf is rewritten below anyway.
initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 --auth-local=trust \
  --auth-host=scram-sha-256
rm -f "$pwfile"
trap - EXIT

cat >"$PGDATA/pg_hba.conf" <<EOF
# Written at initialisation by the image's entrypoint (tools/images/postgresql/docker-entrypoint.sh).
# TYPE  DATABASE     USER              ADDRESS       METHOD
local   all          "$POSTGRES_USER"                trust
host    all          "$POSTGRES_USER"  127.0.0.1/32  trust
host    all          "$POSTGRES_USER"  ::1/128       trust
local   replication  "$POSTGRES_USER"                trust
host    replication  "$POSTGRES_USER"  127.0.0.1/32  trust
host    replication  "$POSTGRES_USER"  ::1/128       trust
local   all          all                             scram-sha-256
host    all          all               all           scram-sha-256
EOF

# The temporary server: the unix socket only, so nothing outside the container (nor the chart's probes, which use
# 127.0.0.1) sees a server before the init scripts are done. The same arguments as the real one, then ours.
port=${PGPORT:-5432}
"$@" -c listen_addresses= -p "$port" &
pid=$!
# PID 1 ignores signals it has no handler for: stop the temporary server and give up instead.
trap 'kill -INT "$pid" 2>/dev/null || true; wait "$pid" || true; exit 1' INT TERM
tries=0
until pg_isready --quiet --host="$socket_dir" --port="$port"; do
  kill -0 "$pid" 2>/dev/null || die "the temporary server did not start (its log is above)"
  tries=$((tries + 1))
  [ "$tries" -lt 600 ] || die "the temporary server is not ready after 60 s"
  sleep 0.1
done

sql() { psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --host="$socket_dir" --port="$port" \
  --username="$POSTGRES_USER" "$@"; }
if [ "$POSTGRES_DB" != postgres ]; then
  log "creating database $POSTGRES_DB"
  sql --dbname=postgres --set=db="$POSTGRES_DB" <<'SQL'
CREATE DATABASE :"db";
SQL
fi
for f in /docker-entrypoint-initdb.d/*; do
  case "$f" in
    *.sh)
      if [ -x "$f" ]; then
        log "running $f"
        "$f"
      else
        log "sourcing $f"
        # shellcheck disable=SC1090
        . "$f"
      fi
      ;;
    *.sql)
      log "running $f"
      sql --dbname="$POSTGRES_DB" --file="$f"
      ;;
    *) [ ! -e "$f" ] || log "ignoring $f" ;;
  esac
done

kill -INT "$pid" # fast shutdown
wait "$pid"
trap - INT TERM
log "initialisation done; starting PostgreSQL"
exec "$@"
