-- When the dashboards' data was read, by which database user, from which schema.
select
    now() as built_at,
    current_user::text as connected_as,
    current_schema()::text as marts_schema
