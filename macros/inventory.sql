{% macro product_weeks_observed() %}
    {#- SQL for one row: the days mart_product_inventory_weekly sees stock on, from the
        first product batch (first_date) to the latest version (last_date), and their ISO
        weeks (first_week, last_week; Mondays, UTC). -#}
    select
        cast(min(_extracted_at) at time zone 'UTC' as date) as first_date,
        cast(max(valid_from) at time zone 'UTC' as date) as last_date,
        cast({{ dbt.date_trunc('week', "min(_extracted_at) at time zone 'UTC'") }} as date)
            as first_week,
        cast({{ dbt.date_trunc('week', "max(valid_from) at time zone 'UTC'") }} as date)
            as last_week
    from {{ ref('dim_product') }}
    where product_id != -1
{% endmacro %}
