-- How did prices change over time? Every list-price change with the price before and
-- after, and per product the running change since its price before the first change.
with

price_changes as (
    select * from {{ ref('mart_product_price_changes') }}
),

timeline as (
    select
        *,
        first_value(previous_price) over by_product as first_observed_price,
        row_number() over by_product as change_number
    from price_changes
    window by_product as (partition by product_id order by changed_at)
)

select
    product_id,
    sku,
    product_name,
    category,
    change_number,
    changed_at,
    previous_price,
    new_price,
    price_change,
    price_change_share,
    new_price - first_observed_price as change_since_first_observed_price
from timeline
order by product_id, changed_at
