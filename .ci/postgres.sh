#!/usr/bin/env bash
# Start a local PostgreSQL for tests/data/test_postgres.py and print the line that exports its
# URL: `eval "$(.ci/postgres.sh)"`. Debian's postgresql package; the server runs as the
# postgres user (CI runs as root). Idempotent: an installed, running cluster is reused.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    else
        echo "postgresql is not installed and cannot be installed here" >&2
        exit 1
    fi
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
    pg_createcluster "$version" main >&2
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $4}' | grep -qx online; then
    pg_ctlcluster "$version" main start >&2
fi
port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')
su postgres -c "psql -p $port -qtAc \"SELECT 1 FROM pg_roles WHERE rolname = 'csmkit'\"" | grep -q 1 \
    || su postgres -c "psql -p $port -qc \"CREATE ROLE csmkit LOGIN PASSWORD 'csmkit'\"" >&2
su postgres -c "psql -p $port -qtAc \"SELECT 1 FROM pg_database WHERE datname = 'csmkit'\"" | grep -q 1 \
    || su postgres -c "createdb -p $port -O csmkit csmkit" >&2
echo "export CSM_KIT_TEST_POSTGRES_URL=postgresql://csmkit:csmkit@127.0.0.1:$port/csmkit"
