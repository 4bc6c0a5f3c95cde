-- mart_customer_monthly_engagement: one row per customer and month with any activity.
select
    customer_id,
    activity_month,
    cohort_month,
    months_since_signup,
    sessions,
    active_days,
    events,
    page_view_events,
    product_visit_events,
    search_events,
    add_to_cart_events,
    remove_from_cart_events,
    sign_up_events,
    other_events,
    product_views,
    orders,
    orders_cancelled,
    revenue
from mart_customer_monthly_engagement
