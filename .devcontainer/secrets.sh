#!/bin/sh
# initializeCommand (runs on the host before the containers start): generate the
# PostgreSQL service's passwords once, into .devcontainer/.secrets/ (git-ignored).
# postgres.env feeds the postgres service; pgpass is the workspace's libpq passfile.
set -eu
dir="$(dirname "$0")/.secrets"
[ -f "$dir/postgres.env" ] && [ -f "$dir/pgpass" ] && exit 0
umask 077
mkdir -p "$dir"
password() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }
: > "$dir/postgres.env"
: > "$dir/pgpass"
for role in postgres webshop_loader webshop_transformer webshop_analyst webshop_marketing; do
    secret="$(password)"
    case "$role" in
        postgres) echo "POSTGRES_PASSWORD=$secret" >> "$dir/postgres.env" ;;
        *) echo "$(echo "$role" | tr '[:lower:]' '[:upper:]')_PASSWORD=$secret" >> "$dir/postgres.env" ;;
    esac
    echo "postgres:5432:*:$role:$secret" >> "$dir/pgpass"
done
chmod 600 "$dir/postgres.env" "$dir/pgpass"
