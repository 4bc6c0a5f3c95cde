-- mart_product_inventory_weekly: one row per product and ISO week.
select
    week_start,
    product_id,
    sku,
    product_name,
    category,
    stock_at_week_start,
    stock_at_week_end,
    stock_change,
    min_stock_quantity,
    max_stock_quantity,
    stock_movements,
    units_moved,
    went_out_of_stock,
    is_out_of_stock_at_week_end,
    price_at_week_start,
    price_at_week_end,
    price_changes,
    is_active_at_week_end
from mart_product_inventory_weekly
