-- mart_product_funnel_by_product: one row per ISO week and product touched.
select
    session_week,
    product_id,
    product_name,
    category,
    product_sessions,
    view_sessions,
    add_to_cart_sessions,
    order_sessions,
    dropped_after_touch,
    dropped_after_add
from mart_product_funnel_by_product
