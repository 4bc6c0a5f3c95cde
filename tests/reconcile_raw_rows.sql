-- Every raw row is accounted for: staged (one row per distinct content as the warehouse
-- keeps it: a version, or for events an event id's content, in force or not),
-- quarantined with a reason (one row per distinct rejected content, without personal
-- data), or a duplicate of one of those. Returns the tables where the counts do not add
-- up. A customer's personal data counts as null once any of its raw rows closes the
-- account, so the count holds before and after `webshop scrub-closed-accounts`.
{%- set closed = "exists (select 1 from " ~ source('webshop', 'customer')
    ~ " as closing where closing.id = source_row.id and closing.deleted_at is not null)" %}
{%- set staged = {
    'customer': 'stg_webshop__customers',
    'product': 'stg_webshop__products',
    'voucher': 'stg_webshop__vouchers',
    'orders': 'stg_webshop__orders',
    'order_line': 'stg_webshop__order_lines',
    'event': 'stg_webshop__events',
} %}

with

{% for table, model in staged.items() %}
{{ table }}_raw as (
    select
        {%- if table == 'event' %}
        {{ raw_content_hash(table, 'source_row', document='event_json.document') }}
            as content_id,
        {{ raw_content_hash(table, 'source_row', document='event_json.document') }}
            as rejected_content_id,
        {%- else %}
        {{ raw_content_hash(table, 'source_row', erase_when=closed) }} as content_id,
        {{ raw_content_hash(table, 'source_row', erase_when='true') }} as rejected_content_id,
        {%- endif %}
        {{ reject_reason(table, 'source_row') }} as reject_reason
    from {{ source('webshop', table) }} as source_row
    {% if table == 'event' -%}
    {{ parse_event_document('source_row.event_data') }}
    {%- endif %}
),

{{ table }}_counts as (
    select
        '{{ table }}' as source_table,
        (select count(*) from {{ table }}_raw) as raw_rows,
        (select count(*) from {{ ref(model) }}) as staged_rows,
        (
            select count(distinct content_id) from {{ table }}_raw
            where reject_reason is null
        ) as distinct_accepted_rows,
        (
            select count(*) from {{ ref('stg_webshop__quarantine') }}
            where source_table = '{{ table }}'
        ) as quarantined_rows,
        (
            select count(distinct rejected_content_id) from {{ table }}_raw
            where reject_reason is not null
        ) as distinct_rejected_rows
),
{% endfor %}

counts as (
    {%- for table in staged %}
    select * from {{ table }}_counts
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select
    *,
    raw_rows - staged_rows - quarantined_rows as duplicate_rows
from counts
where
    staged_rows != distinct_accepted_rows
    or quarantined_rows != distinct_rejected_rows
