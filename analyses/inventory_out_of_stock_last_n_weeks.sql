-- Which products went out of stock in the last `weeks` ISO weeks (var, default 4)? The
-- moment each one hit zero (from dim_product's SCD2 history), whether it is still out of
-- stock, and when it was restocked.
with

products as (
    select * from {{ ref('dim_product') }}
    where product_id != -1
),

inventory as (
    select * from {{ ref('mart_product_inventory_weekly') }}
),

since as (
    select max(week_start) - 7 * ({{ var('weeks', 4) }} - 1) as first_week
    from inventory
),

versions as (
    select
        product_id,
        sku,
        product_name,
        category,
        stock_quantity,
        valid_from,
        valid_to,
        is_current,
        lag(stock_quantity) over (partition by product_id order by valid_from)
            as previous_stock_quantity
    from products
)

select
    versions.product_id,
    versions.sku,
    versions.product_name,
    versions.category,
    versions.valid_from as out_of_stock_at,
    versions.is_current as is_still_out_of_stock,
    case when not versions.is_current then versions.valid_to end as restocked_at
from versions
cross join since
where
    versions.stock_quantity <= 0
    and versions.previous_stock_quantity > 0
    and versions.valid_from >= cast(since.first_week as timestamp) at time zone 'UTC'
order by out_of_stock_at desc
