{{ config(unique_key='_extracted_at', pre_hook="{{ prefer_parallel_workers() }}") }}
-- depends_on: {{ ref('base_webshop__batches') }}

{# Every raw event of the batches read, its document parsed and checked against the raw
   rules once: stg_webshop__events stages the rows no rule rejects, stg_webshop__quarantine
   keeps the others. Incremental per batch moment: a batch read again (its raw rows
   changed) replaces its rows. #}

with

source as (
    select * from {{ source('webshop', 'event') }}
    {%- if is_incremental() %}
    where {{ is_unread('_extracted_at', 'event') }}
    {%- endif %}
)

select
    source.id as event_id,
    {{ raw_content_hash('event', 'source', document='event_json.document') }}
        as event_content_id,
    event_value.event_type,
    source.event_timestamp as event_at,
    event_value.customer_id,
    {{ json_is_string(event_key('customer-id')) }} as is_customer_id_sent_as_text,
    event_document.page as page_url,
    event_document.referrer as referrer_url,
    event_value.product_id,
    event_value.quantity,
    event_document.query as search_query,
    event_value.list_position,
    source._extracted_at,
    checked.reject_reason,
    -- what the quarantine keeps of a rejected row (the rules are evaluated once per row)
    case
        when checked.reject_reason is not null
            then {{ quarantine_source_row('event', 'source') }}
    end as rejected_row
from source
{{ parse_event_document('source') }}
{{ lateral_value(reject_reason('event', 'source'), 'checked', 'reject_reason') }}
