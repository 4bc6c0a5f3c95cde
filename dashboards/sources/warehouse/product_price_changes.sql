-- mart_product_price_changes: one row per list-price change.
select
    product_id,
    sku,
    product_name,
    category,
    changed_at,
    changed_date,
    date_trunc('week', changed_date)::date as changed_week,
    previous_price,
    new_price,
    price_change,
    price_change_share
from mart_product_price_changes
