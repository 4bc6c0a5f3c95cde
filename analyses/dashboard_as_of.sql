-- What did the weekly dashboards say at a given moment? From the snapshots of the
-- weekly marts: the row versions in force at `as_of` (var, a UTC timestamp such as
-- '2026-11-16 08:00:00+00'; default now). Compare with the marts to see how the weeks
-- moved since. (Not on Spark, which has no snapshots: see macros/spark.sql.)
{{ config(enabled=target.type != 'spark') }}
{%- set as_of = var('as_of', none) %}
{%- set moment = "cast('" ~ as_of ~ "' as timestamptz)" if as_of else "now()" %}

with

shipping as (
    select * from {{ ref('snap_mart_weekly_shipping_time') }}
),

discount as (
    select * from {{ ref('snap_mart_weekly_discount') }}
),

funnel as (
    select * from {{ ref('snap_mart_product_funnel_weekly') }}
),

shipping_then as (
    select *
    from shipping
    where
        dbt_valid_from <= {{ moment }}
        and (dbt_valid_to is null or dbt_valid_to > {{ moment }})
),

discount_then as (
    select *
    from discount
    where
        dbt_valid_from <= {{ moment }}
        and (dbt_valid_to is null or dbt_valid_to > {{ moment }})
),

funnel_then as (
    select *
    from funnel
    where
        dbt_valid_from <= {{ moment }}
        and (dbt_valid_to is null or dbt_valid_to > {{ moment }})
)

select
    coalesce(shipping_then.placed_week, discount_then.placed_week, funnel_then.session_week)
        as week_start,
    shipping_then.orders_placed,
    shipping_then.orders_shipped,
    shipping_then.median_hours_placed_to_shipped,
    discount_then.discount_amount,
    discount_then.discount_share_of_gross,
    funnel_then.sessions,
    funnel_then.view_to_order_rate,
    greatest(
        shipping_then.dbt_valid_from, discount_then.dbt_valid_from, funnel_then.dbt_valid_from
    ) as reported_since
from shipping_then
full outer join discount_then on shipping_then.placed_week = discount_then.placed_week
full outer join funnel_then
    on coalesce(shipping_then.placed_week, discount_then.placed_week) = funnel_then.session_week
order by week_start
