{{ config(materialized='table', meta={'is_batch_catalogue': true}) }}

-- The batches in raw as this run starts: one row per raw table and batch moment, with
-- its raw rows. Every staging model reads the batches listed here that it has not read
-- yet (see macros/incremental.sql), so a batch that lands while dbt runs waits for the
-- next run instead of being half read.
{%- set tables = ['customer', 'product', 'voucher', 'orders', 'order_line', 'event'] %}

with

{% for table in tables %}
{{ table }}_batches as (
    select
        '{{ table }}' as source_table,
        _extracted_at as extracted_at,
        count(*) as raw_rows
    from {{ source('webshop', table) }}
    group by _extracted_at
),
{% endfor %}

unioned as (
    {%- for table in tables %}
    select * from {{ table }}_batches
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select * from unioned
