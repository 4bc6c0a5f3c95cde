with

customers as (
    select
        *,
        cast(date_trunc('month', created_at at time zone 'UTC') as date) as cohort_month
    from {{ ref('dim_customer') }}
    where is_current and customer_id != -1
),

sessions as (
    select * from {{ ref('fct_sessions') }}
),

events as (
    select * from {{ ref('fct_events') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

calendar as (
    select * from {{ ref('dim_date') }}
),

session_months as (
    select
        sessions.customer_id,
        calendar.month_start_date as activity_month,
        count(*) as sessions
    from sessions
    inner join calendar
        on cast(sessions.session_start at time zone 'UTC' as date) = calendar.date_day
    group by sessions.customer_id, calendar.month_start_date
),

event_months as (
    select
        events.customer_id,
        calendar.month_start_date as activity_month,
        count(distinct events.event_date) as active_days,
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
        count(*) filter (where not events.is_known_event_type) as other_events,
        count(*) filter (where events.is_product_view) as product_views
    from events
    inner join calendar on events.event_date = calendar.date_day
    group by events.customer_id, calendar.month_start_date
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
