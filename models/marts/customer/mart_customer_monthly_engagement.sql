{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='customer_id',
        indexes=[{'columns': ['customer_id', 'activity_month']}],
        pre_hook="{{ engagement_restarts() }}",
    )
}}
-- depends_on: {{ ref('fct_events') }}
-- depends_on: {{ ref('int_events__superseded') }}
-- depends_on: {{ ref('int_orders__batches') }}

-- Incremental per customer: each customer whose events, orders or dimension versions
-- changed is recomputed whole (macro engagement_restarts: the pre-hook keeps them in a
-- temporary table and deletes their rows first, since a customer can lose every row,
-- e.g. its one order moved to another customer).
with

{% if is_incremental() -%}
restart as (
    select customer_id from {{ restart_relation() }}
),
{%- endif %}

customers as (
    select * from {{ ref('dim_customer') }}
    where
        is_current and customer_id != -1
        {%- if is_incremental() %}
        and customer_id in (select restart.customer_id from restart)
        {%- endif %}
),

customer_months as (
    select * from {{ ref('int_customer_months') }}
    {%- if is_incremental() %}
    where customer_id in (select restart.customer_id from restart)
    {%- endif %}
),

orders as (
    select
        customer_id,
        placed_date,
        net_amount,
        cancelled_at
    from {{ ref('fct_orders') }}
    {%- if is_incremental() %}
    where customer_id in (select restart.customer_id from restart)
    {%- endif %}
),

calendar as (
    select
        date_day,
        month_start_date
    from {{ ref('dim_date') }}
),

-- Cancelled orders count as placed but bring no revenue (as in the discount mart).
order_months as (
    {{ engagement_order_months('orders', 'calendar') }}
),

-- Months with sessions, orders or both (each side has one row per customer and month).
activity_months as (
    select
        coalesce(customer_months.customer_id, order_months.customer_id) as customer_id,
        coalesce(customer_months.activity_month, order_months.activity_month)
            as activity_month,
        customer_months.sessions,
        customer_months.active_days,
        customer_months.events,
        customer_months.page_view_events,
        customer_months.product_visit_events,
        customer_months.search_events,
        customer_months.add_to_cart_events,
        customer_months.remove_from_cart_events,
        customer_months.sign_up_events,
        customer_months.other_events,
        customer_months.product_views,
        order_months.orders,
        order_months.orders_cancelled,
        order_months.revenue
    from customer_months
    full outer join order_months
        on
            customer_months.customer_id = order_months.customer_id
            and customer_months.activity_month = order_months.activity_month
)

select
    activity_months.customer_id,
    activity_months.activity_month,
    customers.cohort_month,
    cast(
        12 * (
            extract(year from activity_months.activity_month)
            - extract(year from customers.cohort_month)
        )
        + extract(month from activity_months.activity_month)
        - extract(month from customers.cohort_month)
        as integer
    ) as months_since_signup,
    coalesce(activity_months.sessions, 0) as sessions,
    coalesce(activity_months.active_days, 0) as active_days,
    coalesce(activity_months.events, 0) as events,
    coalesce(activity_months.page_view_events, 0) as page_view_events,
    coalesce(activity_months.product_visit_events, 0) as product_visit_events,
    coalesce(activity_months.search_events, 0) as search_events,
    coalesce(activity_months.add_to_cart_events, 0) as add_to_cart_events,
    coalesce(activity_months.remove_from_cart_events, 0) as remove_from_cart_events,
    coalesce(activity_months.sign_up_events, 0) as sign_up_events,
    coalesce(activity_months.other_events, 0) as other_events,
    coalesce(activity_months.product_views, 0) as product_views,
    coalesce(activity_months.orders, 0) as orders,
    coalesce(activity_months.orders_cancelled, 0) as orders_cancelled,
    cast(coalesce(activity_months.revenue, 0) as numeric(38, 2)) as revenue
from activity_months
-- Only customers the warehouse knows: events and orders of unknown customer ids are
-- counted in mart_data_quality instead.
inner join customers on activity_months.customer_id = customers.customer_id
