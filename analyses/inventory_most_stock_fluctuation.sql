-- Which products' stock fluctuated most? Over the last `weeks` ISO weeks (var, default
-- 4): units moved (sum of absolute day-to-day stock changes, sales and restocks alike),
-- the number of movements and the range; the `top_n` (var, default 10) first.
with

inventory as (
    select * from {{ ref('mart_product_inventory_weekly') }}
),

since as (
    select max(week_start) - 7 * {{ var('weeks', 4) }} as after_week
    from inventory
),

recent as (
    select inventory.*
    from inventory
    inner join since on inventory.week_start > since.after_week
),

fluctuation as (
    select
        product_id,
        max(sku) as sku,
        max(product_name) as product_name,
        max(category) as category,
        sum(units_moved) as units_moved,
        sum(stock_movements) as stock_movements,
        min(min_stock_quantity) as min_stock_quantity,
        max(max_stock_quantity) as max_stock_quantity
    from recent
    group by product_id
)

select
    product_id,
    sku,
    product_name,
    category,
    units_moved,
    stock_movements,
    min_stock_quantity,
    max_stock_quantity,
    max_stock_quantity - min_stock_quantity as stock_range
from fluctuation
order by units_moved desc, product_id asc
limit {{ var('top_n', 10) }}
