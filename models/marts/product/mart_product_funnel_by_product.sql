with

events as (
    select * from {{ ref('fct_events') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

order_lines as (
    select * from {{ ref('fct_order_lines') }}
),

products as (
    select * from {{ ref('dim_product') }}
    where is_current
),

calendar as (
    select * from {{ ref('dim_date') }}
),

-- A session touches a product when it views it (product page or VISIT_* event) or
-- adds it to the cart.
session_products as (
    select
        session_id,
        product_id,
        min(session_start) as session_start,
        min(event_at) filter (where is_product_view) as first_view_at,
        min(event_at) filter (where event_type = 'ADD_PRODUCT_TO_CART') as first_add_at
    from events
    where
        product_id is not null
        and (is_product_view or event_type = 'ADD_PRODUCT_TO_CART')
    group by session_id, product_id
),

-- The first order of the session holding the product, placed at or after its first add.
ordered_products as (
    select
        session_products.session_id,
        session_products.product_id,
        min(orders.placed_at) as first_order_at
    from session_products
    inner join orders on session_products.session_id = orders.session_id
    inner join order_lines
        on
            orders.order_id = order_lines.order_id
            and session_products.product_id = order_lines.product_id
    where orders.placed_at >= session_products.first_add_at
    group by session_products.session_id, session_products.product_id
),

steps as (
    select
        calendar.iso_week_start_date as session_week,
        session_products.product_id,
        session_products.first_view_at,
        session_products.first_add_at,
        ordered_products.first_order_at,
        case
            when session_products.first_view_at <= session_products.first_add_at
                then extract(
                    epoch from session_products.first_add_at - session_products.first_view_at
                ) / 60
        end as minutes_view_to_add,
        extract(epoch from ordered_products.first_order_at - session_products.first_add_at) / 60
            as minutes_add_to_order
    from session_products
    inner join calendar
        on cast(session_products.session_start at time zone 'UTC' as date) = calendar.date_day
    left join ordered_products
        on
            session_products.session_id = ordered_products.session_id
            and session_products.product_id = ordered_products.product_id
),

weekly as (
    select
        session_week,
        product_id,
        count(*) as product_sessions,
        count(first_view_at) as view_sessions,
        count(first_add_at) as add_to_cart_sessions,
        count(first_order_at) as order_sessions,
        avg(minutes_view_to_add) as avg_minutes_view_to_add,
        avg(minutes_add_to_order) as avg_minutes_add_to_order
    from steps
    group by session_week, product_id
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
