{% macro postgres__snapshot_get_time() -%}
    {#- The moment a snapshot records (dbt_valid_from, dbt_updated_at, dbt_valid_to): now,
        as the UTC wall clock in a timestamp without time zone. dbt's default casts now()
        in the session's time zone, so a build with PGTZ set elsewhere would stamp local
        times: the warehouse has one clock. -#}
    ({{ current_timestamp() }} at time zone 'UTC')
{%- endmacro %}
