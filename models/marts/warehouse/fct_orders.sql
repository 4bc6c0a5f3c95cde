with

orders as (
    select * from {{ ref('int_orders__milestones') }}
),

lines as (
    select * from {{ ref('int_order_lines__latest') }}
),

customers as (
    select * from {{ ref('dim_customer') }}
),

vouchers as (
    select * from {{ ref('dim_voucher') }}
),

sessions as (
    select * from {{ ref('fct_sessions') }}
),

amounts as (
    select
        order_id,
        count(*) as order_lines,
        sum(quantity) as units,
        sum(gross_amount) as gross_amount,
        sum(discount_amount) as discount_amount,
        sum(net_amount) as net_amount
    from lines
    group by order_id
),

-- The session the order was placed in: the customer's session around the order's
-- confirmation page view, logged within two seconds of the order.
placed_in as (
    select
        orders.order_id,
        sessions.session_id,
        row_number() over (
            partition by orders.order_id order by sessions.session_start desc
        ) as candidate
    from orders
    inner join sessions
        on
            orders.customer_id = sessions.customer_id
            and orders.placed_at >= sessions.session_start - interval '2 seconds'
            and orders.placed_at <= sessions.session_end + interval '2 seconds'
)

select
    orders.order_id,
    coalesce(customers.customer_sk, {{ unknown_member_sk() }}) as customer_sk,
    orders.customer_id,
    case
        when orders.voucher_id is null then '-2'
        else coalesce(vouchers.voucher_sk, {{ unknown_member_sk() }})
    end as voucher_sk,
    orders.voucher_id,
    placed_in.session_id,
    orders.order_status,
    orders.has_status_regression,
    orders.placed_at,
    cast(orders.placed_at at time zone 'UTC' as date) as placed_date,
    orders.paid_at,
    orders.shipped_at,
    orders.delivered_at,
    orders.cancelled_at,
    orders.returned_at,
    round(extract(epoch from orders.shipped_at - orders.placed_at) / 3600, 2)
        as hours_placed_to_shipped,
    coalesce(amounts.order_lines, 0) as order_lines,
    coalesce(amounts.units, 0) as units,
    cast(coalesce(amounts.gross_amount, 0) as numeric(38, 2)) as gross_amount,
    cast(coalesce(amounts.discount_amount, 0) as numeric(38, 2)) as discount_amount,
    cast(coalesce(amounts.net_amount, 0) as numeric(38, 2)) as net_amount
from orders
left join amounts on orders.order_id = amounts.order_id
left join customers
    on
        orders.customer_id = customers.customer_id
        and orders.placed_at >= customers.valid_from
        and orders.placed_at < customers.valid_to
left join vouchers
    on
        orders.voucher_id = vouchers.voucher_id
        and orders.placed_at >= vouchers.valid_from
        and orders.placed_at < vouchers.valid_to
left join placed_in on orders.order_id = placed_in.order_id and placed_in.candidate = 1
