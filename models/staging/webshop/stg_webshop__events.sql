with

source as (
    select * from {{ source('webshop', 'event') }}
    {{ only_new_batches() }}
),

renamed as (
    select
        source.id as event_id,
        upper(trim(source.event_type)) as event_type,
        upper(trim(source.event_type)) in (
            'PAGE_VIEW',
            'ADD_PRODUCT_TO_CART',
            'REMOVE_PRODUCT_FROM_CART',
            'SIGN_UP_SUCCESS',
            'VISIT_RELATED_PRODUCT',
            'VISIT_RECENTLY_VISITED_PRODUCT',
            'VISIT_PERSONAL_RECOMMENDATION',
            'SEARCH'
        ) as is_known_event_type,
        source.event_timestamp as event_at,
        {{ json_bigint('event_document."customer-id"') }} as customer_id,
        jsonb_typeof(event_document."customer-id") = 'string' as is_customer_id_sent_as_text,
        event_document.page as page_url,
        event_document.referrer as referrer_url,
        {{ json_bigint('event_document.product') }} as product_id,
        {{ json_bigint('event_document.quantity', 'integer', 9) }} as quantity,
        event_document.query as search_query,
        {{ json_bigint('event_document."position"', 'integer', 9) }} as list_position,
        event_document."user-agent" as user_agent,
        event_document.ip as ip_address,
        source._extracted_at,
        {{ dbt_utils.generate_surrogate_key([
            'source.event_type', epoch('source.event_timestamp'), 'source.event_data',
        ]) }} as event_content_id
    from source
    {{ parse_event_document('source.event_data') }}
    where {{ reject_reason('event', 'source') }} is null
),

deduplicated as (
    {{ dbt_utils.deduplicate('renamed', 'event_id', '_extracted_at, event_content_id') }}
)

select * from deduplicated
{{ not_already_loaded('deduplicated', 'event_id') }}
