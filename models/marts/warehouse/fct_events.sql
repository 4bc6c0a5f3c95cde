{{ config(materialized='view') }}

-- Logged-in events, one row per event, with their session: the event-level fact the
-- product funnel and engagement marts read. Product page views carry no product in
-- the tracker's document; their product comes from the /product/<id> page URL.
with

events as (
    select * from {{ ref('int_events__sessionized') }}
),

with_product as (
    select
        *,
        cast(
            substring(page_url from '/product/([0-9]{1,18})(?:[/?#]|$)') as bigint
        ) as page_product_id
    from events
)

select
    event_id,
    session_id,
    customer_id,
    event_at,
    cast(event_at at time zone 'UTC' as date) as event_date,
    event_type,
    is_known_event_type,
    page_url,
    referrer_url,
    coalesce(product_id, page_product_id) as product_id,
    case
        when event_type = 'PAGE_VIEW' then page_product_id is not null
        when event_type like 'VISIT\_%' and is_known_event_type then product_id is not null
        else false
    end as is_product_view,
    quantity,
    search_query,
    list_position,
    session_start,
    session_end,
    event_number_in_session,
    _extracted_at
from with_product
