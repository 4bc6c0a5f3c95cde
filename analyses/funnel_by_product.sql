-- Which products turn interest into orders? Over the last `funnel_weeks` ISO weeks (var,
-- default 8): counts summed over the weeks, rates recomputed from the sums, products
-- with at least `min_product_sessions` sessions (var, default 10), best converting first.
with

product_weeks as (
    select * from {{ ref('mart_product_funnel_by_product') }}
),

since as (
    select max(session_week) - 7 * {{ var('funnel_weeks', 8) }} as after_week
    from product_weeks
),

recent as (
    select product_weeks.*
    from product_weeks
    inner join since on product_weeks.session_week > since.after_week
),

totals as (
    select
        product_id,
        max(product_name) as product_name,
        max(category) as category,
        sum(product_sessions) as product_sessions,
        sum(add_to_cart_sessions) as add_to_cart_sessions,
        sum(order_sessions) as order_sessions
    from recent
    group by product_id
)

select
    product_id,
    product_name,
    category,
    product_sessions,
    add_to_cart_sessions,
    order_sessions,
    round(1.0 * add_to_cart_sessions / product_sessions, 4) as touch_to_add_rate,
    round(1.0 * order_sessions / nullif(add_to_cart_sessions, 0), 4) as add_to_order_rate,
    round(1.0 * order_sessions / product_sessions, 4) as touch_to_order_rate
from totals
where product_sessions >= {{ var('min_product_sessions', 10) }}
order by touch_to_order_rate desc, product_sessions desc
