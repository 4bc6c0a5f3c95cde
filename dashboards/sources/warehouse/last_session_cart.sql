-- mart_last_session_cart without the e-mail (personal data the analyst role cannot read),
-- with the ISO week (named by its Monday, UTC) in which the last session started and the
-- dashboards' latest complete week: the week before the current one, or the week of the
-- latest session when the data ends earlier.
with carts as (
    select
        customer_id,
        session_id,
        session_start,
        session_end,
        date_trunc('week', session_start at time zone 'UTC')::date as session_week,
        cart_value_added,
        cart_value_net,
        orders_placed,
        order_value
    from mart_last_session_cart
),

latest as (
    select
        least(
            date_trunc('week', now() at time zone 'UTC')::date - 7,
            max(session_week)
        ) as latest_complete_week
    from carts
)

select
    carts.*,
    latest.latest_complete_week,
    carts.session_week = latest.latest_complete_week as is_latest_complete_week
from carts
cross join latest
