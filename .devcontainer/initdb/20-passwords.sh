#!/bin/sh
# Run once by the postgres image when it creates its data directory, after 10-roles.sql:
# the login roles get the passwords that secrets.sh generated (env, never committed).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v loader="$WEBSHOP_LOADER_PASSWORD" \
    -v transformer="$WEBSHOP_TRANSFORMER_PASSWORD" \
    -v analyst="$WEBSHOP_ANALYST_PASSWORD" \
    -v marketing="$WEBSHOP_MARKETING_PASSWORD" <<'SQL'
alter role webshop_loader password :'loader';
alter role webshop_transformer password :'transformer';
alter role webshop_analyst password :'analyst';
alter role webshop_marketing password :'marketing';
SQL
