{{
    config(
        unique_key='event_id',
        post_hook=["{{ partial_index('_extracted_at', 'not is_known_event_type') }}"],
    )
}}

{%- set delivered_columns = [
    'event_id', 'event_content_id', 'event_type', 'is_known_event_type', 'is_cart_event',
    'is_product_visit', 'event_at', 'customer_id', 'is_customer_id_sent_as_text', 'page_url',
    'page_product_id', 'referrer_url', 'product_id', 'quantity', 'search_query',
    'list_position', '_extracted_at',
] %}
{%- set visits = [
    'VISIT_RELATED_PRODUCT', 'VISIT_RECENTLY_VISITED_PRODUCT', 'VISIT_PERSONAL_RECOMMENDATION',
] %}

with

events as (
    select * from {{ ref('base_webshop__events') }}
    where
        reject_reason is null
        {%- if is_incremental() %}
        and {{ is_unread('_extracted_at', 'event') }}
        {%- endif %}
),

described as (
    select
        event_id,
        event_content_id,
        event_type,
        event_type in (
            {{ "'" ~ documented_event_types() | join("', '") ~ "'" }}
        ) as is_known_event_type,
        event_type in ('ADD_PRODUCT_TO_CART', 'REMOVE_PRODUCT_FROM_CART') as is_cart_event,
        event_type in (
            {{ "'" ~ visits | join("', '") ~ "'" }}
        ) as is_product_visit,
        event_at,
        customer_id,
        is_customer_id_sent_as_text,
        page_url,
        -- here, where PostgreSQL parses on its parallel workers (the sort below the dedupe
        -- takes every column from them); sessionizing, a window, would parse on one core
        {{ page_product_id('page_url') }} as page_product_id,
        referrer_url,
        product_id,
        -- whole numbers in range: the raw rules reject anything else
        cast(quantity as integer) as quantity,
        search_query,
        cast(list_position as integer) as list_position,
        _extracted_at
    from events
),

deliveries as (
    {{ with_existing('described', 'event_id', delivered_columns) }}
),

-- Each content of an event id once, at its first delivery.
first_deliveries as (
    {{ dbt_utils.deduplicate('deliveries', 'event_id, event_content_id', '_extracted_at') }}
),

-- The content delivered first is in force (then the lower content id); the others are
-- kept, marked, so that the conflict stays visible and no delivery is lost.
ranked as (
    select
        *,
        row_number() over by_event_id = 1 as is_in_force,
        first_value(_extracted_at) over by_event_id as _in_force_extracted_at
    from first_deliveries
    window by_event_id as (partition by event_id order by _extracted_at, event_content_id)
)

{{ only_changed(
    'ranked', 'event_id',
    ['event_id', 'event_content_id', '_extracted_at', 'is_in_force', '_in_force_extracted_at']
) }}
