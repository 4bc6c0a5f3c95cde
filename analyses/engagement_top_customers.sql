-- Who are the most engaged customers right now? The `top_n` (var, default 20) of the
-- ranking over the last 28 days of data.
with

ranking as (
    select * from {{ ref('mart_customer_engagement_ranking') }}
)

select
    engagement_rank,
    customer_id,
    email,
    active_days,
    sessions,
    events,
    orders,
    revenue,
    window_first_day,
    window_last_day
from ranking
where engagement_rank <= {{ var('top_n', 20) }}
order by engagement_rank, customer_id
