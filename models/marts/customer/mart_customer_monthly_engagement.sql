with

customers as (
    select
        *,
        cast(date_trunc('month', created_at at time zone 'UTC') as date) as cohort_month
    from {{ ref('dim_customer') }}
    where is_current and customer_id != -1
),

sessions as (
    select
        customer_id,
        session_start,
        cast(session_start at time zone 'UTC' as date) as session_date,
        events,
        page_views,
        product_visits,
        searches,
        cart_adds,
        cart_removals,
        sign_ups,
        -- Its counts all fall on one UTC day, and with no undocumented event type among
        -- them product_visits holds only documented VISIT_* events.
        cast(session_start at time zone 'UTC' as date)
        = cast(session_end at time zone 'UTC' as date)
        and unknown_events = 0 as is_counted_per_session
    from {{ ref('fct_sessions') }}
),

-- Read twice, each time narrowly: the sessions' events through their index, the
-- product views with the cheap page test first.
events as not materialized (
    select
        customer_id,
        session_start,
        event_date,
        event_type,
        is_known_event_type,
        page_url,
        is_product_view
    from {{ ref('fct_events') }}
),

orders as (
    select
        customer_id,
        placed_date,
        net_amount,
        cancelled_at
    from {{ ref('fct_orders') }}
),

calendar as (
    select
        date_day,
        month_start_date
    from {{ ref('dim_date') }}
),

session_months as (
    select
        sessions.customer_id,
        calendar.month_start_date as activity_month,
        count(*) as sessions
    from sessions
    inner join calendar on sessions.session_date = calendar.date_day
    group by sessions.customer_id, calendar.month_start_date
),

-- Events by type per customer and UTC day: from the session's counts when they all fall
-- on its start day, event by event for the few sessions that cross midnight or hold an
-- undocumented type.
single_day_sessions as (
    select
        customer_id,
        session_date as event_date,
        events,
        page_views as page_view_events,
        product_visits as product_visit_events,
        searches as search_events,
        cart_adds as add_to_cart_events,
        cart_removals as remove_from_cart_events,
        sign_ups as sign_up_events,
        0 as other_events
    from sessions
    where is_counted_per_session
),

other_sessions as (
    select
        events.customer_id,
        events.event_date,
        count(*) as events,
        count(*) filter (where events.event_type = 'PAGE_VIEW') as page_view_events,
        count(*) filter (
            where events.event_type like 'VISIT\_%' and events.is_known_event_type
        ) as product_visit_events,
        count(*) filter (where events.event_type = 'SEARCH') as search_events,
        count(*) filter (where events.event_type = 'ADD_PRODUCT_TO_CART') as add_to_cart_events,
        count(*) filter (
            where events.event_type = 'REMOVE_PRODUCT_FROM_CART'
        ) as remove_from_cart_events,
        count(*) filter (where events.event_type = 'SIGN_UP_SUCCESS') as sign_up_events,
        count(*) filter (where not events.is_known_event_type) as other_events
    from sessions
    inner join events
        on
            sessions.customer_id = events.customer_id
            and sessions.session_start = events.session_start
    where not sessions.is_counted_per_session
    group by events.customer_id, events.event_date
),

event_days as (
    select
        customer_id,
        event_date,
        sum(events) as events,
        sum(page_view_events) as page_view_events,
        sum(product_visit_events) as product_visit_events,
        sum(search_events) as search_events,
        sum(add_to_cart_events) as add_to_cart_events,
        sum(remove_from_cart_events) as remove_from_cart_events,
        sum(sign_up_events) as sign_up_events,
        sum(other_events) as other_events
    from (
        select * from single_day_sessions
        union all
        select * from other_sessions
    ) as session_days
    group by customer_id, event_date
),

-- fct_sessions has no count of product views, so they are read event by event: only
-- product pages and VISIT_* events (a product view's page holds '/product/').
product_view_days as (
    select
        customer_id,
        event_date,
        count(*) as product_views
    from events
    where
        (
            event_type like 'VISIT\_%'
            or (event_type = 'PAGE_VIEW' and page_url like '%/product/%')
        )
        and is_product_view
    group by customer_id, event_date
),

event_months as (
    select
        event_days.customer_id,
        calendar.month_start_date as activity_month,
        count(*) as active_days,
        cast(sum(event_days.events) as bigint) as events,
        cast(sum(event_days.page_view_events) as bigint) as page_view_events,
        cast(sum(event_days.product_visit_events) as bigint) as product_visit_events,
        cast(sum(event_days.search_events) as bigint) as search_events,
        cast(sum(event_days.add_to_cart_events) as bigint) as add_to_cart_events,
        cast(sum(event_days.remove_from_cart_events) as bigint) as remove_from_cart_events,
        cast(sum(event_days.sign_up_events) as bigint) as sign_up_events,
        cast(sum(event_days.other_events) as bigint) as other_events,
        cast(coalesce(sum(product_view_days.product_views), 0) as bigint) as product_views
    from event_days
    inner join calendar on event_days.event_date = calendar.date_day
    left join product_view_days
        on
            event_days.customer_id = product_view_days.customer_id
            and event_days.event_date = product_view_days.event_date
    group by event_days.customer_id, calendar.month_start_date
),

-- Cancelled orders count as placed but bring no revenue (as in the discount mart).
order_months as (
    select
        orders.customer_id,
        calendar.month_start_date as activity_month,
        count(*) as orders,
        count(*) filter (where orders.cancelled_at is not null) as orders_cancelled,
        coalesce(sum(orders.net_amount) filter (where orders.cancelled_at is null), 0)
            as revenue
    from orders
    inner join calendar on orders.placed_date = calendar.date_day
    group by orders.customer_id, calendar.month_start_date
),

customer_months as (
    select
        customer_id,
        activity_month
    from session_months
    union
    select
        customer_id,
        activity_month
    from event_months
    union
    select
        customer_id,
        activity_month
    from order_months
)

select
    customer_months.customer_id,
    customer_months.activity_month,
    customers.cohort_month,
    cast(
        12 * extract(year from age(customer_months.activity_month, customers.cohort_month))
        + extract(month from age(customer_months.activity_month, customers.cohort_month))
        as integer
    ) as months_since_signup,
    coalesce(session_months.sessions, 0) as sessions,
    coalesce(event_months.active_days, 0) as active_days,
    coalesce(event_months.events, 0) as events,
    coalesce(event_months.page_view_events, 0) as page_view_events,
    coalesce(event_months.product_visit_events, 0) as product_visit_events,
    coalesce(event_months.search_events, 0) as search_events,
    coalesce(event_months.add_to_cart_events, 0) as add_to_cart_events,
    coalesce(event_months.remove_from_cart_events, 0) as remove_from_cart_events,
    coalesce(event_months.sign_up_events, 0) as sign_up_events,
    coalesce(event_months.other_events, 0) as other_events,
    coalesce(event_months.product_views, 0) as product_views,
    coalesce(order_months.orders, 0) as orders,
    coalesce(order_months.orders_cancelled, 0) as orders_cancelled,
    cast(coalesce(order_months.revenue, 0) as numeric(12, 2)) as revenue
from customer_months
left join customers on customer_months.customer_id = customers.customer_id
left join session_months
    on
        customer_months.customer_id = session_months.customer_id
        and customer_months.activity_month = session_months.activity_month
left join event_months
    on
        customer_months.customer_id = event_months.customer_id
        and customer_months.activity_month = event_months.activity_month
left join order_months
    on
        customer_months.customer_id = order_months.customer_id
        and customer_months.activity_month = order_months.activity_month
