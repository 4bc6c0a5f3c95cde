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

activity_months as (
    select
        customer_id,
        activity_month
    from customer_months
    union
    select
        customer_id,
        activity_month
    from order_months
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
    coalesce(customer_months.sessions, 0) as sessions,
    coalesce(customer_months.active_days, 0) as active_days,
    coalesce(customer_months.events, 0) as events,
    coalesce(customer_months.page_view_events, 0) as page_view_events,
    coalesce(customer_months.product_visit_events, 0) as product_visit_events,
    coalesce(customer_months.search_events, 0) as search_events,
    coalesce(customer_months.add_to_cart_events, 0) as add_to_cart_events,
    coalesce(customer_months.remove_from_cart_events, 0) as remove_from_cart_events,
    coalesce(customer_months.sign_up_events, 0) as sign_up_events,
    coalesce(customer_months.other_events, 0) as other_events,
    coalesce(customer_months.product_views, 0) as product_views,
    coalesce(order_months.orders, 0) as orders,
    coalesce(order_months.orders_cancelled, 0) as orders_cancelled,
    cast(coalesce(order_months.revenue, 0) as numeric(38, 2)) as revenue
from activity_months
-- Only customers the warehouse knows: events and orders of unknown customer ids are
-- counted in mart_data_quality instead.
inner join customers on activity_months.customer_id = customers.customer_id
left join customer_months
    on
        activity_months.customer_id = customer_months.customer_id
        and activity_months.activity_month = customer_months.activity_month
left join order_months
    on
        activity_months.customer_id = order_months.customer_id
        and activity_months.activity_month = order_months.activity_month
