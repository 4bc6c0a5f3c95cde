{{ config(unique_key='quarantine_row_id') }}
-- depends_on: {{ ref('base_webshop__batches') }}

{# Raw rows staging cannot use, with the reason: nothing is dropped silently. A raw row
    is looked at when staging does not hold its content (cheap: a hash and an index
    lookup), or when a rule that compares it with its batch moment rejects it (the same
    content can be staged from another delivery); only those are parsed again. -#}
{% set staged = {
    'customer': (ref('stg_webshop__customers'), 'customer_version_id'),
    'product': (ref('stg_webshop__products'), 'product_version_id'),
    'voucher': (ref('stg_webshop__vouchers'), 'voucher_version_id'),
    'orders': (ref('stg_webshop__orders'), 'order_version_id'),
    'order_line': (ref('stg_webshop__order_lines'), 'order_line_version_id'),
    'event': (ref('stg_webshop__events'), 'event_content_id'),
} -%}

with

{% for table, (staged_model, staged_key) in staged.items() %}
{{ table }}_delivered as (
    select
        source_row.*,
        {{ raw_content_hash(table, 'source_row') }} as content_id
    from {{ source('webshop', table) }} as source_row
    {%- if is_incremental() %}
    where {{ is_unread('source_row._extracted_at', table) }}
    {%- endif %}
),

{{ table }}_candidates as (
    select * from {{ table }}_delivered as delivered
    where
        not exists (
            select 1 from {{ staged_model }} as staged
            where
                staged.{{ staged_key }} = delivered.content_id
                {%- if table == 'event' %}
                and staged.event_id = delivered.id
                {%- endif %}
        )
        or {{ fails_batch_moment_rule(table, 'delivered') }}
),

{{ table }}_rejected as (
    select
        '{{ table }}' as source_table,
        candidate.id as source_id,
        candidate.content_id,
        candidate._extracted_at,
        {{ reject_reason(table, 'candidate') }} as reject_reason,
        to_jsonb(candidate) - '_extracted_at' - 'content_id' as source_row
    from {{ table }}_candidates as candidate
    {% if table == 'event' -%}
    {{ parse_event_document('candidate.event_data') }}
    {%- endif %}
),
{% endfor %}

unioned as (
    {%- for table in staged %}
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

{{ only_changed('first_deliveries', 'quarantine_row_id', ['quarantine_row_id', '_extracted_at']) }}
