with

customers as (
    select * from {{ ref('dim_customer') }}
    where is_current and customer_id != -1
),

customer_months as (
    select * from {{ ref('int_customer_months') }}
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
        12 * extract(year from age(activity_months.activity_month, customers.cohort_month))
        + extract(month from age(activity_months.activity_month, customers.cohort_month))
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
