{{ config(unique_key='quarantine_row_id') }}
-- depends_on: {{ ref('base_webshop__batches') }}

{# Raw rows staging cannot use, with the reason: nothing is dropped silently. Every raw
   row of a batch this model has not read is checked against the raw rules (the same ones
   staging applies); a rejected row is kept once, at its first delivery, without personal
   data (names, e-mail, phone and street of a customer row, the ip and user-agent in an
   event's document): the reason is what a person needs, and nothing here has to be
   erased when an account closes. #}
{%- set tables = ['customer', 'product', 'voucher', 'orders', 'order_line', 'event'] %}

with

{% for table in tables %}
{{ table }}_rejected as (
    {%- if table == 'event' %}
    -- checked once, with staging's parse (base_webshop__events)
    select
        'event' as source_table,
        event_id as source_id,
        _extracted_at,
        reject_reason,
        event_content_id as content_id,
        rejected_row as source_row
    from {{ ref('base_webshop__events') }}
    where
        reject_reason is not null
        {%- if is_incremental() %}
        and {{ is_unread('_extracted_at', table) }}
        {%- endif %}
    {%- else %}
    select
        '{{ table }}' as source_table,
        source_row.id as source_id,
        source_row._extracted_at,
        {{ reject_reason(table, 'source_row') }} as reject_reason,
        {{ quarantine_content_id(table, 'source_row') }} as content_id,
        {{ quarantine_source_row(table, 'source_row') }} as source_row
    from {{ source('webshop', table) }} as source_row
    {%- if is_incremental() %}
    where {{ is_unread('source_row._extracted_at', table) }}
    {%- endif %}
    {%- endif %}
),
{% endfor %}

unioned as (
    {%- for table in tables %}
    select
        {{ dbt.hash("source_table || content_id") }} as quarantine_row_id,
        source_table,
        source_id,
        _extracted_at,
        reject_reason,
        source_row
    from {{ table }}_rejected
    where reject_reason is not null
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

deliveries as (
    {{ with_existing('unioned', 'quarantine_row_id') }}
),

-- A rejected row delivered twice is one problem: keep its first delivery.
first_deliveries as (
    {{ dbt_utils.deduplicate('deliveries', 'quarantine_row_id', '_extracted_at') }}
)

{{ only_changed(
    'first_deliveries', 'quarantine_row_id', ['quarantine_row_id', '_extracted_at']
) }}
