-- Assessment question 3: how much discount do we give, week by week? Cancelled orders
-- give none; the share is of the gross amount of the orders that count.
with

weekly as (
    select * from {{ ref('mart_weekly_discount') }}
)

select
    placed_week,
    orders_placed,
    orders_cancelled,
    orders_with_discount,
    gross_amount,
    discount_amount,
    discount_share_of_gross
from weekly
order by placed_week
