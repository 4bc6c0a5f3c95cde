{{ config(materialized='view') }}

-- Logged-in events, one row per event, with their session: the event-level fact the
-- product funnel and engagement marts read. A product page view's product is the one in
-- its page URL (the tracker's document has none).
with

events as (
    select * from {{ ref('int_events__sessionized') }}
)

select
    event_id,
    session_id,
    customer_id,
    event_at,
    cast({{ utc_clock('event_at') }} as date) as event_date,
    event_type,
    is_known_event_type,
    is_cart_event,
    is_product_visit,
    page_url,
    referrer_url,
    coalesce(product_id, page_product_id) as product_id,
    is_product_view,
    quantity,
    search_query,
    list_position,
    session_start,
    session_end,
    event_number_in_session,
    _extracted_at
from events
