-- How engaged are customers month by month? Active customers (a session or an order),
-- sessions and active days per active customer, orders and revenue.
with

engagement as (
    select * from {{ ref('mart_customer_monthly_engagement') }}
)

select
    activity_month,
    count(*) filter (where sessions > 0 or orders > 0) as active_customers,
    sum(sessions) as sessions,
    round(1.0 * sum(sessions) / nullif(count(*) filter (where sessions > 0), 0), 2)
        as sessions_per_visiting_customer,
    round(1.0 * sum(active_days) / nullif(count(*) filter (where active_days > 0), 0), 2)
        as active_days_per_visiting_customer,
    sum(events) as events,
    sum(orders) as orders,
    sum(revenue) as revenue
from engagement
group by activity_month
order by activity_month
