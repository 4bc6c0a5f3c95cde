-- How are users moving through the funnel (product view -> add to cart -> order) and
-- where do they drop off? The last `funnel_weeks` ISO weeks (var, default 8).
with

weekly as (
    select * from {{ ref('mart_product_funnel_weekly') }}
),

since as (
    select max(session_week) - 7 * {{ var('funnel_weeks', 8) }} as after_week
    from weekly
),

recent as (
    select weekly.*
    from weekly
    inner join since on weekly.session_week > since.after_week
)

select
    session_week,
    sessions,
    product_view_sessions,
    add_to_cart_sessions,
    order_sessions,
    view_to_add_rate,
    add_to_order_rate,
    view_to_order_rate,
    dropped_after_view,
    dropped_after_add,
    view_drop_off_rate,
    add_drop_off_rate,
    median_minutes_view_to_add,
    median_minutes_add_to_order
from recent
order by session_week
