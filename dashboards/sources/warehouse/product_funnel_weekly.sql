-- mart_product_funnel_weekly, with the dashboards' latest complete week: the ISO week (named by its
-- Monday, UTC) before the current one, or the mart's latest week when the data ends earlier.
select
    session_week,
    sessions,
    product_view_sessions,
    add_to_cart_sessions,
    order_sessions,
    product_view_rate,
    view_to_add_rate,
    add_to_order_rate,
    view_to_order_rate,
    dropped_after_view,
    dropped_after_add,
    view_drop_off_rate,
    add_drop_off_rate,
    avg_minutes_view_to_add,
    median_minutes_view_to_add,
    avg_minutes_add_to_order,
    median_minutes_add_to_order,
    latest_complete_week,
    session_week = latest_complete_week as is_latest_complete_week
from mart_product_funnel_weekly
cross join (
    select
        least(
            date_trunc('week', now() at time zone 'UTC')::date - 7,
            max(session_week)
        ) as latest_complete_week
    from mart_product_funnel_weekly
) as latest
