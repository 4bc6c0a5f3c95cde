{{ config(materialized="view") }}

{#- Raw rows staging cannot use, with the reason: nothing is dropped silently. -#}
{%- set tables = ['customer', 'product', 'voucher', 'orders', 'order_line', 'event'] -%}

with

{% for table in tables %}
{{ table }}_rejected as (
    select
        '{{ table }}' as source_table,
        id as source_id,
        _extracted_at,
        {{ reject_reason(table) }} as reject_reason,
        to_jsonb(source_row) - '_extracted_at' - 'document' as source_row
    from (
        select
            *{% if table == 'event' %},
            {{ target.schema }}.try_jsonb(event_data) as document{% endif %}
        from {{ source('webshop', table) }}
    ) as source_row
),
{% endfor %}

unioned as (
{%- for table in tables %}
    select * from {{ table }}_rejected where reject_reason is not null
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
),

numbered as (
    select
        *,
        row_number() over (
            partition by source_table, source_row, _extracted_at order by source_id
        ) as copy_number
    from unioned
)

select
    {{ dbt_utils.generate_surrogate_key([
        'source_table', 'source_row', epoch('_extracted_at'), 'copy_number',
    ]) }} as quarantine_row_id,
    source_table,
    source_id,
    _extracted_at,
    reject_reason,
    source_row
from numbered
