{%- set window_days = var('engagement_window_days', 28) %}

with

customers as (
    select * from {{ ref('dim_customer') }}
    where is_current and customer_id != -1
),

orders as (
    select
        customer_id,
        placed_date,
        net_amount,
        cancelled_at
    from {{ ref('fct_orders') }}
),

-- The window ends on the latest day the warehouse has events or orders for (not on
-- today, so a rebuild of old data ranks the same way). A session ends with its last
-- event, so the latest session end is the latest event (fct_sessions' session_end index).
latest as (
    select cast({{ utc_clock('max(session_end)') }} as date) as last_day
    from {{ ref('fct_sessions') }}
    union all
    select max(placed_date) as last_day from orders
),

engagement_window as (
    select
        max(last_day) - {{ window_days - 1 }} as first_day,
        max(last_day) as last_day
    from latest
),

-- Only the sessions that end in the window or later can have a day in it, read through
-- the session_end index: the window's share of the history, however long that is.
sessions as (
    select
        customer_id,
        session_start,
        session_end,
        events,
        cast({{ utc_clock('session_start') }} as date) as start_date,
        cast({{ utc_clock('session_end') }} as date) as end_date
    from {{ ref('fct_sessions') }}
    where
        session_end >= (
            select {{ utc_moment('engagement_window.first_day') }}
            from engagement_window
        )
),

session_totals as (
    select
        sessions.customer_id,
        count(*) as sessions
    from sessions
    inner join engagement_window
        on sessions.start_date between engagement_window.first_day and engagement_window.last_day
    group by sessions.customer_id
),

-- Events per customer and UTC day in the window. A session within one UTC day puts all
-- its events on that day (fct_sessions.events); only the few sessions that cross
-- midnight into the window are read event by event.
single_day_sessions as (
    select
        sessions.customer_id,
        sessions.start_date as event_date,
        sessions.events
    from sessions
    inner join engagement_window
        on
            sessions.start_date = sessions.end_date
            and sessions.start_date
            between engagement_window.first_day and engagement_window.last_day
),

multi_day_sessions as (
    select
        events.customer_id,
        events.event_date,
        count(*) as events
    from sessions
    inner join engagement_window
        on
            sessions.start_date < sessions.end_date
            and sessions.end_date >= engagement_window.first_day
            and sessions.start_date <= engagement_window.last_day
    {{ join_session_events('sessions') }}
    where events.event_date between engagement_window.first_day and engagement_window.last_day
    group by events.customer_id, events.event_date
),

event_days as (
    select
        customer_id,
        event_date,
        sum(events) as events
    from (
        select * from single_day_sessions
        union all
        select * from multi_day_sessions
    ) as session_days
    group by customer_id, event_date
),

event_totals as (
    select
        customer_id,
        count(*) as active_days,
        cast(sum(events) as bigint) as events
    from event_days
    group by customer_id
),

order_totals as (
    select
        orders.customer_id,
        count(*) as orders,
        coalesce(sum(orders.net_amount) filter (where orders.cancelled_at is null), 0)
            as revenue
    from orders
    inner join engagement_window
        on orders.placed_date between engagement_window.first_day and engagement_window.last_day
    group by orders.customer_id
),

engaged_customers as (
    select session_totals.customer_id from session_totals
    union
    select event_totals.customer_id from event_totals
    union
    select order_totals.customer_id from order_totals
),

engaged as (
    select
        engaged_customers.customer_id,
        coalesce(session_totals.sessions, 0) as sessions,
        coalesce(event_totals.active_days, 0) as active_days,
        coalesce(event_totals.events, 0) as events,
        coalesce(order_totals.orders, 0) as orders,
        cast(coalesce(order_totals.revenue, 0) as numeric(38, 2)) as revenue
    from engaged_customers
    left join session_totals on engaged_customers.customer_id = session_totals.customer_id
    left join event_totals on engaged_customers.customer_id = event_totals.customer_id
    left join order_totals on engaged_customers.customer_id = order_totals.customer_id
)

select
    rank() over (
        order by
            engaged.active_days desc,
            engaged.sessions desc,
            engaged.orders desc,
            engaged.revenue desc
    ) as engagement_rank,
    engaged.customer_id,
    customers.email,
    customers.created_at as signed_up_at,
    engagement_window.first_day as window_first_day,
    engagement_window.last_day as window_last_day,
    engaged.active_days,
    engaged.sessions,
    engaged.events,
    engaged.orders,
    engaged.revenue
from engaged
cross join engagement_window
-- Events and orders of customer ids the warehouse does not know are not ranked (they are
-- counted in mart_data_quality).
inner join customers on engaged.customer_id = customers.customer_id
