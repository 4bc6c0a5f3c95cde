{% macro product_weeks_observed() %}
    {#- SQL for one row: the days mart_product_inventory_weekly sees stock on, from the
        first product batch (first_date) to the latest version (last_date), and their ISO
        weeks (first_week, last_week; Mondays, UTC). -#}
    select
        cast({{ utc_clock('min(_extracted_at)') }} as date) as first_date,
        cast({{ utc_clock('max(valid_from)') }} as date) as last_date,
        cast({{ dbt.date_trunc('week', utc_clock('min(_extracted_at)')) }} as date)
            as first_week,
        cast({{ dbt.date_trunc('week', utc_clock('max(valid_from)')) }} as date)
            as last_week
    from {{ ref('dim_product') }}
    where product_id != -1
{% endmacro %}
