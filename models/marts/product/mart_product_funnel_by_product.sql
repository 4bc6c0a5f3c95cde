with

product_weeks as (
    select * from {{ ref('int_product_weeks') }}
),

products as (
    select
        product_id,
        product_name,
        category
    from {{ ref('dim_product') }}
    where is_current
),

-- The order step per session and product: the first order of the session holding the
-- product, placed at or after its first add.
ordered_products as (
    select
        session_start,
        product_id,
        first_add_at,
        first_order_at
    from {{ ref('fct_funnel_orders') }}
    where first_order_at is not null
),

weekly_orders as (
    select
        cast({{ dbt.date_trunc('week', utc_clock('session_start')) }} as date)
            as session_week,
        product_id,
        count(*) as order_sessions,
        avg({{ seconds_between('first_add_at', 'first_order_at') }} / 60)
            as avg_minutes_add_to_order
    from ordered_products
    group by session_week, product_id
),

weekly as (
    select
        product_weeks.session_week,
        product_weeks.product_id,
        product_weeks.product_sessions,
        product_weeks.view_sessions,
        product_weeks.add_to_cart_sessions,
        coalesce(weekly_orders.order_sessions, 0) as order_sessions,
        product_weeks.avg_minutes_view_to_add,
        weekly_orders.avg_minutes_add_to_order
    from product_weeks
    left join weekly_orders
        on
            product_weeks.session_week = weekly_orders.session_week
            and product_weeks.product_id = weekly_orders.product_id
)

select
    weekly.session_week,
    weekly.product_id,
    products.product_name,
    products.category,
    weekly.product_sessions,
    weekly.view_sessions,
    weekly.add_to_cart_sessions,
    weekly.order_sessions,
    cast(1.0 * weekly.add_to_cart_sessions / weekly.product_sessions as numeric(5, 4))
        as touch_to_add_rate,
    cast(1.0 * weekly.order_sessions / nullif(weekly.add_to_cart_sessions, 0) as numeric(5, 4))
        as add_to_order_rate,
    cast(1.0 * weekly.order_sessions / weekly.product_sessions as numeric(5, 4))
        as touch_to_order_rate,
    weekly.product_sessions - weekly.add_to_cart_sessions as dropped_after_touch,
    weekly.add_to_cart_sessions - weekly.order_sessions as dropped_after_add,
    cast(weekly.avg_minutes_view_to_add as numeric(10, 2)) as avg_minutes_view_to_add,
    cast(weekly.avg_minutes_add_to_order as numeric(10, 2)) as avg_minutes_add_to_order
from weekly
left join products on weekly.product_id = products.product_id
