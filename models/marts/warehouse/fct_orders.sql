{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_id',
        indexes=[{'columns': ['order_id']}, {'columns': ['session_id']}],
    )
}}
-- depends_on: {{ ref('int_orders__batches') }}
-- depends_on: {{ ref('int_events__sessionized') }}
-- depends_on: {{ ref('int_events__superseded') }}

-- Incremental per order: an order is recomputed when one of its versions or lines changed
-- in a batch this model has not read, or what it joins at its placement: the version in
-- force of its customer or voucher (placed from their changed_from on), or its customer's
-- sessions (placed from one session gap and the two seconds of placed_in before the
-- customer's first changed event on: sessions before that kept their start and end).
with

{% if is_incremental() -%}
event_touches as (
    {{ event_touches(ref('int_events__sessionized'), ref('int_events__superseded')) }}
),

touched_customers as (
    select
        customer_id,
        min(event_at) - {{ session_gap() }} - interval '2 seconds' as changed_from
    from event_touches
    group by customer_id
    union all
    {{ versions_changed_from(
        ref('dim_customer'), 'customer_id', 'customer', reset_column='_closed_extracted_at'
    ) }}
),

changed_vouchers as (
    {{ versions_changed_from(ref('dim_voucher'), 'voucher_id', 'voucher') }}
),

touched as (
    select touched_by_batches.order_id
    from ({{ touched_orders(ref('int_orders__batches')) }}) as touched_by_batches
    union
    select customer_orders.order_id
    from {{ ref('int_orders__milestones') }} as customer_orders
    inner join touched_customers
        on customer_orders.customer_id = touched_customers.customer_id
    where customer_orders.placed_at >= touched_customers.changed_from
    union
    select voucher_orders.order_id
    from {{ ref('int_orders__milestones') }} as voucher_orders
    inner join changed_vouchers on voucher_orders.voucher_id = changed_vouchers.voucher_id
    where voucher_orders.placed_at >= changed_vouchers.changed_from
),

orders as (
    select * from {{ ref('int_orders__milestones') }}
    where order_id in (select touched.order_id from touched)
),

lines as (
    select * from {{ ref('int_order_lines__latest') }}
    where order_id in (select touched.order_id from touched)
),
{%- else %}

orders as (
    select * from {{ ref('int_orders__milestones') }}
),

lines as (
    select * from {{ ref('int_order_lines__latest') }}
),
{%- endif %}

customers as (
    select * from {{ ref('dim_customer') }}
),

vouchers as (
    select * from {{ ref('dim_voucher') }}
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
-- confirmation page view, logged within two seconds of the order. The night's orders look
-- the sessions ending from two seconds before it up in fct_sessions' (customer_id,
-- session_start) index instead of hashing every session.
placed_in as (
    select
        orders.order_id,
        sessions.session_id,
        row_number() over (
            partition by orders.order_id order by sessions.session_start desc
        ) as candidate
    {%- if is_incremental() %}
    from orders
    {{ sessions_ending_from('orders', "orders.placed_at - interval '2 seconds'", 'sessions') }}
    where orders.placed_at >= sessions.session_start - interval '2 seconds'
    {%- else %}
    from orders
    inner join {{ ref('fct_sessions') }} as sessions
        on
            orders.customer_id = sessions.customer_id
            and orders.placed_at >= sessions.session_start - interval '2 seconds'
            and orders.placed_at <= sessions.session_end + interval '2 seconds'
    {%- endif %}
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
    cast({{ utc_clock('orders.placed_at') }} as date) as placed_date,
    orders.paid_at,
    orders.shipped_at,
    orders.delivered_at,
    orders.cancelled_at,
    orders.returned_at,
    cast(
        round({{ seconds_between('orders.placed_at', 'orders.shipped_at') }} / 3600, 2)
        as numeric(12, 2)
    ) as hours_placed_to_shipped,
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
