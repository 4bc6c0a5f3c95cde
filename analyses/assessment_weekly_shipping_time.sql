-- Assessment question 1: how long do orders take from placed to shipped, week by week?
-- Hours from placement to the first version with status shipped, per ISO week of
-- placement (Monday, UTC); recent weeks move while their orders ship.
with

weekly as (
    select * from {{ ref('mart_weekly_shipping_time') }}
)

select
    placed_week,
    orders_placed,
    orders_shipped,
    avg_hours_placed_to_shipped,
    median_hours_placed_to_shipped,
    p90_hours_placed_to_shipped
from weekly
order by placed_week
