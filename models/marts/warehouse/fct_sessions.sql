{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        unique_key='customer_id',
        replace_from_column='session_start',
        indexes=[{'columns': ['customer_id', 'session_start']}],
    )
}}

with

products as (
    select * from {{ ref('dim_product') }}
),

{% if is_incremental() -%}
{%- set since = watermark() %}
-- Sessions that hold an event this table has not seen (new, late, or merged by a late
-- event: the merged session holds the late event).
touched_by_events as (
    {{ first_sessions_with_new_events(ref('int_events__sessionized'), since) }}
),

-- Sessions whose cart events are priced differently now: a product version arrived
-- that is in force from before the event (out-of-order versions move old windows).
new_product_versions as (
    select
        product_id,
        min(valid_from) as changed_from
    from {{ ref('dim_product') }}
    where _extracted_at >= {{ since }}
    group by product_id
),

touched_by_prices as (
    select
        priced.customer_id,
        min(priced.session_start) as restart_at
    from new_product_versions
    {{ lateral_rows(
        ref('int_events__sessionized'), 'product_id', 'event_at',
        'new_product_versions.changed_from', 'new_product_versions', 'priced'
    ) }}
    where priced.event_type in ('ADD_PRODUCT_TO_CART', 'REMOVE_PRODUCT_FROM_CART')
    group by priced.customer_id
),

restart as (
    select
        customer_id,
        min(restart_at) as restart_at
    from (
        select * from touched_by_events
        union all
        select * from touched_by_prices
    ) as touched
    group by customer_id
),

-- A session starting at or after restart_at holds exactly the events at or after it
-- (restart_at is a session start), read per customer through (customer_id, event_at).
scoped as not materialized (
    {{ customer_rows_from(ref('int_events__sessionized')) }}
),
{%- else %}

scoped as not materialized (
    select * from {{ ref('int_events__sessionized') }}
),
{%- endif %}

-- The list price in force at the moment of each cart event (point in time).
cart_events as (
    select
        scoped.session_id,
        scoped.event_type,
        scoped.quantity * products.price as line_value,
        products.price is null as is_unpriced
    from scoped
    left join products
        on
            scoped.product_id = products.product_id
            and scoped.event_at >= products.valid_from
            and scoped.event_at < products.valid_to
    where scoped.event_type in ('ADD_PRODUCT_TO_CART', 'REMOVE_PRODUCT_FROM_CART')
),

cart_values as (
    select
        session_id,
        coalesce(sum(line_value) filter (
            where event_type = 'ADD_PRODUCT_TO_CART'
        ), 0) as cart_value_added,
        coalesce(sum(case
            when event_type = 'ADD_PRODUCT_TO_CART' then line_value
            else -line_value
        end), 0) as cart_value_net,
        count(*) filter (where is_unpriced) as unpriced_cart_events
    from cart_events
    group by session_id
),

landing as (
    select
        session_id,
        page_url as landing_page_url,
        referrer_url
    from (
        select
            session_id,
            page_url,
            referrer_url,
            row_number() over (partition by session_id order by event_at, event_id) as page_number
        from scoped
        where event_type = 'PAGE_VIEW'
    ) as page_views
    where page_number = 1
),

sessions as (
    select
        session_id,
        customer_id,
        session_start,
        session_end,
        cast(extract(epoch from session_end - session_start) as integer) as duration_seconds,
        count(*) as events,
        count(*) filter (where event_type = 'PAGE_VIEW') as page_views,
        count(*) filter (where event_type = 'ADD_PRODUCT_TO_CART') as cart_adds,
        count(*) filter (where event_type = 'REMOVE_PRODUCT_FROM_CART') as cart_removals,
        count(*) filter (where event_type = 'SEARCH') as searches,
        count(*) filter (where event_type = 'SIGN_UP_SUCCESS') as sign_ups,
        count(*) filter (where event_type like 'VISIT\_%') as product_visits,
        count(*) filter (where is_product_view) as product_views,
        min(event_at) filter (where is_product_view) as first_product_view_at,
        min(event_at) filter (
            where event_type = 'ADD_PRODUCT_TO_CART' and follows_product_view
        ) as first_cart_add_after_view_at,
        count(*) filter (where not is_known_event_type) as unknown_events,
        count(*) filter (
            where event_type = 'PAGE_VIEW' and page_url like '%/checkout/confirmation%'
        ) as orders_confirmed,
        max(_extracted_at) as _extracted_at
    from scoped
    group by session_id, customer_id, session_start, session_end
)

select
    sessions.session_id,
    sessions.customer_id,
    sessions.session_start,
    sessions.session_end,
    sessions.duration_seconds,
    sessions.events,
    sessions.page_views,
    sessions.cart_adds,
    sessions.cart_removals,
    sessions.searches,
    sessions.sign_ups,
    sessions.product_visits,
    sessions.product_views,
    sessions.unknown_events,
    sessions.orders_confirmed,
    sessions.first_product_view_at,
    sessions.first_cart_add_after_view_at,
    landing.landing_page_url,
    landing.referrer_url,
    cast(coalesce(cart_values.cart_value_added, 0) as numeric(12, 2)) as cart_value_added,
    cast(coalesce(cart_values.cart_value_net, 0) as numeric(12, 2)) as cart_value_net,
    coalesce(cart_values.unpriced_cart_events, 0) as unpriced_cart_events,
    sessions._extracted_at
from sessions
left join landing on sessions.session_id = landing.session_id
left join cart_values on sessions.session_id = cart_values.session_id
