with

products as (
    select * from {{ ref('dim_product') }}
    where product_id != -1
),

versions as (
    select
        *,
        lag(price) over (partition by product_id order by valid_from) as previous_price
    from products
)

select
    product_sk,
    product_id,
    sku,
    product_name,
    category,
    valid_from as changed_at,
    cast({{ utc_clock('valid_from') }} as date) as changed_date,
    cast(previous_price as numeric(12, 2)) as previous_price,
    price as new_price,
    cast(price - previous_price as numeric(12, 2)) as price_change,
    cast((price - previous_price) / nullif(previous_price, 0) as numeric(18, 4))
        as price_change_share
from versions
where price != previous_price
