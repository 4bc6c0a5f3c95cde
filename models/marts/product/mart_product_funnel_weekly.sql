with

sessions as (
    select
        session_id,
        session_start
    from {{ ref('fct_sessions') }}
),

-- Only the events the funnel steps need: product views and cart adds. fct_sessions has
-- no time of a session's first product view, so these are read event by event; the
-- cheap test on the page comes first (a product view's page holds '/product/').
funnel_events as materialized (
    select
        session_id,
        event_at,
        event_type = 'ADD_PRODUCT_TO_CART' as is_cart_add
    from {{ ref('fct_events') }}
    where
        event_type = 'ADD_PRODUCT_TO_CART'
        or (
            (
                event_type like 'VISIT\_%'
                or (event_type = 'PAGE_VIEW' and page_url like '%/product/%')
            )
            and is_product_view
        )
),

orders as (
    select
        session_id,
        placed_at
    from {{ ref('fct_orders') }}
    where session_id is not null
),

calendar as (
    select
        date_day,
        iso_week_start_date
    from {{ ref('dim_date') }}
),

-- The funnel is ordered: a step counts only at or after the step before it.
first_views as (
    select
        session_id,
        min(event_at) as first_view_at
    from funnel_events
    where not is_cart_add
    group by session_id
),

first_adds as (
    select
        funnel_events.session_id,
        min(funnel_events.event_at) as first_add_at
    from funnel_events
    inner join first_views on funnel_events.session_id = first_views.session_id
    where
        funnel_events.is_cart_add
        and funnel_events.event_at >= first_views.first_view_at
    group by funnel_events.session_id
),

first_orders as (
    select
        orders.session_id,
        min(orders.placed_at) as first_order_at
    from orders
    inner join first_adds on orders.session_id = first_adds.session_id
    where orders.placed_at >= first_adds.first_add_at
    group by orders.session_id
),

session_steps as (
    select
        calendar.iso_week_start_date as session_week,
        sessions.session_id,
        first_views.first_view_at,
        first_adds.first_add_at,
        first_orders.first_order_at,
        extract(epoch from first_adds.first_add_at - first_views.first_view_at) / 60
            as minutes_view_to_add,
        extract(epoch from first_orders.first_order_at - first_adds.first_add_at) / 60
            as minutes_add_to_order
    from sessions
    inner join calendar
        on cast(sessions.session_start at time zone 'UTC' as date) = calendar.date_day
    left join first_views on sessions.session_id = first_views.session_id
    left join first_adds on sessions.session_id = first_adds.session_id
    left join first_orders on sessions.session_id = first_orders.session_id
),

weekly as (
    select
        session_week,
        count(*) as sessions,
        count(first_view_at) as product_view_sessions,
        count(first_add_at) as add_to_cart_sessions,
        count(first_order_at) as order_sessions,
        avg(minutes_view_to_add) as avg_minutes_view_to_add,
        percentile_cont(0.5) within group (order by minutes_view_to_add)
            as median_minutes_view_to_add,
        avg(minutes_add_to_order) as avg_minutes_add_to_order,
        percentile_cont(0.5) within group (order by minutes_add_to_order)
            as median_minutes_add_to_order
    from session_steps
    group by session_week
)

-- Rates: 4-decimal ratios, null when the step before is empty; drop-off = 1 - conversion.
select
    session_week,
    sessions,
    product_view_sessions,
    add_to_cart_sessions,
    order_sessions,
    cast(1.0 * product_view_sessions / nullif(sessions, 0) as numeric(5, 4))
        as product_view_rate,
    cast(1.0 * add_to_cart_sessions / nullif(product_view_sessions, 0) as numeric(5, 4))
        as view_to_add_rate,
    cast(1.0 * order_sessions / nullif(add_to_cart_sessions, 0) as numeric(5, 4))
        as add_to_order_rate,
    cast(1.0 * order_sessions / nullif(product_view_sessions, 0) as numeric(5, 4))
        as view_to_order_rate,
    product_view_sessions - add_to_cart_sessions as dropped_after_view,
    add_to_cart_sessions - order_sessions as dropped_after_add,
    cast(
        1.0 * (product_view_sessions - add_to_cart_sessions) / nullif(product_view_sessions, 0)
        as numeric(5, 4)
    ) as view_drop_off_rate,
    cast(
        1.0 * (add_to_cart_sessions - order_sessions) / nullif(add_to_cart_sessions, 0)
        as numeric(5, 4)
    ) as add_drop_off_rate,
    cast(avg_minutes_view_to_add as numeric(10, 2)) as avg_minutes_view_to_add,
    cast(median_minutes_view_to_add as numeric(10, 2)) as median_minutes_view_to_add,
    cast(avg_minutes_add_to_order as numeric(10, 2)) as avg_minutes_add_to_order,
    cast(median_minutes_add_to_order as numeric(10, 2)) as median_minutes_add_to_order
from weekly
