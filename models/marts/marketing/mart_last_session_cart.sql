with

sessions as (
    select * from {{ ref('fct_sessions') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

customers as (
    select * from {{ ref('dim_customer') }}
    where is_current
),

last_sessions as (
    select *
    from (
        select
            *,
            row_number() over (
                partition by customer_id order by session_start desc
            ) as recency
        from sessions
    ) as ranked
    where recency = 1
),

session_orders as (
    select
        session_id,
        count(*) as orders_placed,
        cast(sum(net_amount) as numeric(38, 2)) as order_value
    from orders
    where session_id is not null
    group by session_id
)

select
    last_sessions.customer_id,
    customers.email,
    last_sessions.session_id,
    last_sessions.session_start,
    last_sessions.session_end,
    last_sessions.cart_value_added,
    last_sessions.cart_value_net,
    session_orders.orders_placed,
    session_orders.order_value
from last_sessions
inner join session_orders on last_sessions.session_id = session_orders.session_id
inner join customers on last_sessions.customer_id = customers.customer_id
