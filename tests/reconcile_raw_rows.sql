-- Every raw row is accounted for: staged (one row per distinct content as the warehouse
-- keeps it: a version, or for events an event id's content, in force or not),
-- quarantined with a reason (one row per distinct rejected content, without personal
-- data), or a duplicate of one of those. A customer's personal data counts as null once
-- any of its raw rows closes the account, so this holds before and after
-- `webshop scrub-closed-accounts`. Returns the tables where something is missing or extra.
--
-- At night (after an incremental staging run) it checks the batches that run read: every
-- distinct content of their raw rows is staged or quarantined, and every row staged or
-- quarantined at their batch moments comes from them. With var full_tests, or after a full
-- build, it counts the whole history: staged and quarantined rows equal the distinct
-- contents of every raw row.
{%- set closed = "exists (select 1 from " ~ source('webshop', 'customer')
    ~ " as closing where closing.id = source_row.id and closing.deleted_at is not null)" %}
{%- set staged = {
    'customer': (ref('stg_webshop__customers'), 'customer_version_id'),
    'product': (ref('stg_webshop__products'), 'product_version_id'),
    'voucher': (ref('stg_webshop__vouchers'), 'voucher_version_id'),
    'orders': (ref('stg_webshop__orders'), 'order_version_id'),
    'order_line': (ref('stg_webshop__order_lines'), 'order_line_version_id'),
    'event': (ref('stg_webshop__events'), 'event_content_id'),
} %}
{%- set nightly = not var('full_tests', false) %}

with

{% for table, (model, content_key) in staged.items() %}
{%- set model_name = model.identifier %}
{%- if nightly %}
{{ table }}_moments as (
    -- the batches the latest staging run read (all of them after a full build)
    select extracted_at from {{ ledger_of([model_name]) }} as recorded
    where
        recorded_at = (
            select max(latest.recorded_at) from {{ ledger_of([model_name]) }} as latest
        )
),
{%- endif %}

{{ table }}_raw as (
    select
        {%- if table == 'event' %}
        {{ raw_content_hash(table, 'source_row', document='event_json.document') }}
            as content_id,
        {%- else %}
        {{ raw_content_hash(table, 'source_row', erase_when=closed) }} as content_id,
        {%- endif %}
        {{ quarantine_content_id(table, 'source_row') }} as rejected_content_id,
        {{ reject_reason(table, 'source_row') }} as reject_reason,
        source_row.id
    from {{ source('webshop', table) }} as source_row
    {% if table == 'event' -%}
    {{ parse_event_document('source_row') }}
    {%- endif %}
    {%- if nightly %}
    where
        source_row._extracted_at in (
            select moment.extracted_at from {{ table }}_moments as moment
        )
    {%- endif %}
),

{{ table }}_staged as (
    select {{ content_key }} as content_id from {{ model }}
    {%- if nightly %}
    where _extracted_at in (select moment.extracted_at from {{ table }}_moments as moment)
    {%- endif %}
),

{{ table }}_quarantined as (
    select quarantine_row_id from {{ ref('stg_webshop__quarantine') }}
    where
        source_table = '{{ table }}'
        {%- if nightly %}
        and _extracted_at in (select moment.extracted_at from {{ table }}_moments as moment)
        {%- endif %}
),

{{ table }}_accepted as (
    select distinct
        content_id,
        id
    from {{ table }}_raw
    where reject_reason is null
),

{{ table }}_rejected as (
    select distinct {{ dbt.hash("'" ~ table ~ "' || rejected_content_id") }} as quarantine_row_id
    from {{ table }}_raw
    where reject_reason is not null
),

{{ table }}_problems as (
    select
        '{{ table }}' as source_table,
        (
            select count(*) from {{ table }}_accepted as accepted
            where not exists (
                select 1 from {{ model }} as staged
                where
                    staged.{{ content_key }} = accepted.content_id
                    {%- if table == 'event' %}
                    and staged.event_id = accepted.id
                    {%- endif %}
            )
        ) as accepted_not_staged,
        (
            select count(*) from {{ table }}_staged as staged
            where staged.content_id not in (
                select accepted.content_id from {{ table }}_accepted as accepted
            )
        ) as staged_not_accepted,
        (
            select count(*) from {{ table }}_rejected as rejected
            where not exists (
                select 1 from {{ ref('stg_webshop__quarantine') }} as quarantined
                where quarantined.quarantine_row_id = rejected.quarantine_row_id
            )
        ) as rejected_not_quarantined,
        (
            select count(*) from {{ table }}_quarantined as quarantined
            where quarantined.quarantine_row_id not in (
                select rejected.quarantine_row_id from {{ table }}_rejected as rejected
            )
        ) as quarantined_not_rejected
),
{% endfor %}

problems as (
    {%- for table in staged %}
    select * from {{ table }}_problems
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select * from problems
where
    accepted_not_staged > 0
    or staged_not_accepted > 0
    or rejected_not_quarantined > 0
    or quarantined_not_rejected > 0
