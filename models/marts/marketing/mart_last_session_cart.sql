with

customers as (
    select * from {{ ref('dim_customer') }}
    where is_current
),

-- Each customer's latest session: one lookup per customer through fct_sessions'
-- (customer_id, session_start) index, however long the history.
last_sessions as (
    select
        customers.customer_id,
        customers.email,
        last_session.session_id,
        last_session.session_start,
        last_session.session_end,
        last_session.cart_value_added,
        last_session.cart_value_net
    from customers
    cross join lateral (
        select
            sessions.session_id,
            sessions.session_start,
            sessions.session_end,
            sessions.cart_value_added,
            sessions.cart_value_net
        from {{ ref('fct_sessions') }} as sessions
        where sessions.customer_id = customers.customer_id
        order by sessions.session_start desc
        limit 1
    ) as last_session
),

-- The orders of those sessions only (fct_orders' session_id index).
session_orders as (
    select
        session_id,
        count(*) as orders_placed,
        cast(sum(net_amount) as numeric(38, 2)) as order_value
    from {{ ref('fct_orders') }}
    where session_id in (select last_sessions.session_id from last_sessions)
    group by session_id
)

select
    last_sessions.customer_id,
    last_sessions.email,
    last_sessions.session_id,
    last_sessions.session_start,
    last_sessions.session_end,
    last_sessions.cart_value_added,
    last_sessions.cart_value_net,
    session_orders.orders_placed,
    session_orders.order_value
from last_sessions
inner join session_orders on last_sessions.session_id = session_orders.session_id
