with

-- Only the events that touch a product: product views and cart adds. The cheap test
-- on the page comes first (a product view's page holds '/product/').
events as (
    select
        session_id,
        session_start,
        product_id,
        event_at,
        event_type = 'ADD_PRODUCT_TO_CART' as is_cart_add
    from {{ ref('fct_events') }}
    -- A product view always has a product; only a cart add can lack one.
    where
        (event_type = 'ADD_PRODUCT_TO_CART' and product_id is not null)
        or (
            (
                event_type like 'VISIT\_%'
                or (event_type = 'PAGE_VIEW' and page_url like '%/product/%')
            )
            and is_product_view
        )
),

orders as (
    select
        order_id,
        session_id,
        placed_at
    from {{ ref('fct_orders') }}
    where session_id is not null
),

order_lines as (
    select
        order_id,
        product_id
    from {{ ref('fct_order_lines') }}
),

products as (
    select
        product_id,
        product_name,
        category
    from {{ ref('dim_product') }}
    where is_current
),

calendar as (
    select
        date_day,
        iso_week_start_date
    from {{ ref('dim_date') }}
),

-- A session touches a product when it views it (product page or VISIT_* event) or
-- adds it to the cart.
session_products as (
    select
        session_id,
        product_id,
        min(session_start) as session_start,
        min(event_at) filter (where not is_cart_add) as first_view_at,
        min(event_at) filter (where is_cart_add) as first_add_at
    from events
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
