{{ config(materialized='view') }}

{#- Raw rows staging cannot use, with the reason: nothing is dropped silently. -#}
{%- set tables = ['customer', 'product', 'voucher', 'orders', 'order_line', 'event'] -%}

with

{% for table in tables %}
{{ table }}_rejected as (
    select
        '{{ table }}' as source_table,
        source_row.id as source_id,
        source_row._extracted_at,
        {{ reject_reason(table, 'source_row') }} as reject_reason,
        to_jsonb(source_row) - '_extracted_at' as source_row
    from {{ source('webshop', table) }} as source_row
    {% if table == 'event' -%}
    {{ parse_event_document('source_row.event_data') }}
    {%- endif %}
),
{% endfor %}

unioned as (
    {%- for table in tables %}
    select * from {{ table }}_rejected
    where reject_reason is not null
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

-- A rejected row delivered twice is one problem: keep its first delivery.
deduplicated as (
    {{ dbt_utils.deduplicate('unioned', 'source_table, source_row', '_extracted_at') }}
)

select
    {{ dbt_utils.generate_surrogate_key(['source_table', 'source_row']) }} as quarantine_row_id,
    source_table,
    source_id,
    _extracted_at,
    reject_reason,
    source_row
from deduplicated
