#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) answer before the tests run:
# start them when installed but stopped, install them from Debian's packages when missing.
# The tests never skip for want of a server; this script is how they get one.
set -euo pipefail

say() { printf 'ensure-services: %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! command -v pg_isready >/dev/null || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  say "installing PostgreSQL"
  apt_install postgresql postgresql-client
  installed_pg=1
fi
if ! pg_up; then
  say "starting PostgreSQL"
  for version in $(ls /etc/postgresql); do
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
fi
for _ in $(seq 1 30); do pg_up && break; sleep 1; done
pg_up || { say "PostgreSQL does not answer on 127.0.0.1:5432"; exit 1; }

# The suite connects as postgres over TCP from this machine. A fresh Debian install asks for a
# password there; when this script installed the server itself, it trusts loopback connections
# as machines of this kind do (a test machine only: never do this on a server with data).
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
  if [ "${installed_pg:-0}" = 1 ]; then
    for hba in /etc/postgresql/*/main/pg_hba.conf; do
      as_root sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
    done
    for version in $(ls /etc/postgresql); do
      as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload || true
    done
  fi
  psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1 || {
    say "cannot connect as postgres to 127.0.0.1:5432 (set YUNZHANG_TEST_PG_URL)"; exit 1; }
fi

redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG) 2>/dev/null; }
if ! redis_up; then
  if ! command -v redis-server >/dev/null; then
    say "installing Redis"
    apt_install redis-server
  fi
  say "starting Redis"
  mkdir -p /tmp/yunzhang-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp/yunzhang-redis --logfile /tmp/yunzhang-redis/redis.log
  for _ in $(seq 1 20); do redis_up && break; sleep 0.5; done
fi
redis_up || { say "Redis does not answer on 127.0.0.1:6379"; exit 1; }
say "PostgreSQL and Redis are up"
