with

orders as (
    select * from {{ ref('fct_orders') }}
),

calendar as (
    select * from {{ ref('dim_date') }}
)

select
    calendar.iso_week_start_date as placed_week,
    count(*) as orders_placed,
    count(orders.shipped_at) as orders_shipped,
    cast(avg(orders.hours_placed_to_shipped) as numeric(10, 2)) as avg_hours_placed_to_shipped,
    cast(percentile_cont(0.5) within group (
        order by orders.hours_placed_to_shipped
    ) as numeric(10, 2)) as median_hours_placed_to_shipped,
    cast(percentile_cont(0.9) within group (
        order by orders.hours_placed_to_shipped
    ) as numeric(10, 2)) as p90_hours_placed_to_shipped
from orders
inner join calendar on orders.placed_date = calendar.date_day
group by calendar.iso_week_start_date
