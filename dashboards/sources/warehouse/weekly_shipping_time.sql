-- mart_weekly_shipping_time, with the dashboards' latest complete week: the ISO week (named by its
-- Monday, UTC) before the current one, or the mart's latest week when the data ends earlier.
select
    placed_week,
    orders_placed,
    orders_shipped,
    avg_hours_placed_to_shipped,
    median_hours_placed_to_shipped,
    p90_hours_placed_to_shipped,
    latest_complete_week,
    placed_week = latest_complete_week as is_latest_complete_week
from mart_weekly_shipping_time
cross join (
    select
        least(
            date_trunc('week', now() at time zone 'UTC')::date - 7,
            max(placed_week)
        ) as latest_complete_week
    from mart_weekly_shipping_time
) as latest
