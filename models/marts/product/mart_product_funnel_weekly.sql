{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='session_week',
        pre_hook="{{ funnel_restarts() }}",
    )
}}
-- depends_on: {{ ref('int_events__sessionized') }}
-- depends_on: {{ ref('int_events__superseded') }}
-- depends_on: {{ ref('int_orders__batches') }}
-- depends_on: {{ ref('int_orders__milestones') }}

-- Incremental per week: the weeks from the earliest session whose steps can have changed
-- (funnel_restart_week: changed events or orders) are deleted and recomputed whole (a
-- median needs every session of its week); earlier weeks keep their rows. The pre-hook
-- (funnel_restarts) works that week out and keeps it in a temporary table.
{%- set since -%}
(select {{ utc_moment('restart.restart_week') }} from restart)
{%- endset %}

with

{% if is_incremental() -%}
restart as (
    select restart_week from {{ restart_relation() }}
),
{%- endif %}

-- fct_sessions holds each session's first product view and its first cart add after a
-- product view, fct_funnel_orders its first order after that add (the funnel is ordered:
-- a step counts only after the step before it).
sessions as (
    select
        session_id,
        session_start,
        first_product_view_at as first_view_at,
        first_cart_add_after_view_at as first_add_at
    from {{ ref('fct_sessions') }}
    {%- if is_incremental() %}
    -- through the session_end index (a session ends after it starts)
    where session_end >= {{ since }} and session_start >= {{ since }}
    {%- endif %}
),

-- The order step: the first order placed in the session at or after that first add.
first_orders as (
    select distinct
        session_id,
        session_first_order_at as first_order_at
    from {{ ref('fct_funnel_orders') }}
    where
        session_first_order_at is not null
        {%- if is_incremental() %}
        and session_start >= {{ since }}
        {%- endif %}
),

calendar as (
    select
        date_day,
        iso_week_start_date
    from {{ ref('dim_date') }}
),

session_steps as (
    select
        calendar.iso_week_start_date as session_week,
        sessions.session_id,
        sessions.first_view_at,
        sessions.first_add_at,
        first_orders.first_order_at,
        {{ seconds_between('sessions.first_view_at', 'sessions.first_add_at') }} / 60
            as minutes_view_to_add,
        {{ seconds_between('sessions.first_add_at', 'first_orders.first_order_at') }} / 60
            as minutes_add_to_order
    from sessions
    inner join calendar
        on cast({{ utc_clock('sessions.session_start') }} as date) = calendar.date_day
    left join first_orders on sessions.session_id = first_orders.session_id
),

weekly as (
    select
        session_week,
        count(*) as sessions,
        count(first_view_at) as product_view_sessions,
        count(first_add_at) as add_to_cart_sessions,
        count(first_order_at) as order_sessions,
        avg(minutes_view_to_add) as avg_minutes_view_to_add,
        percentile_cont(0.5) within group (order by minutes_view_to_add)
            as median_minutes_view_to_add,
        avg(minutes_add_to_order) as avg_minutes_add_to_order,
        percentile_cont(0.5) within group (order by minutes_add_to_order)
            as median_minutes_add_to_order
    from session_steps
    group by session_week
)

-- Rates: 4-decimal ratios, null when the step before is empty; drop-off = 1 - conversion.
select
    session_week,
    sessions,
    product_view_sessions,
    add_to_cart_sessions,
    order_sessions,
    cast(1.0 * product_view_sessions / nullif(sessions, 0) as numeric(5, 4))
        as product_view_rate,
    cast(1.0 * add_to_cart_sessions / nullif(product_view_sessions, 0) as numeric(5, 4))
        as view_to_add_rate,
    cast(1.0 * order_sessions / nullif(add_to_cart_sessions, 0) as numeric(5, 4))
        as add_to_order_rate,
    cast(1.0 * order_sessions / nullif(product_view_sessions, 0) as numeric(5, 4))
        as view_to_order_rate,
    product_view_sessions - add_to_cart_sessions as dropped_after_view,
    add_to_cart_sessions - order_sessions as dropped_after_add,
    cast(
        1.0 * (product_view_sessions - add_to_cart_sessions) / nullif(product_view_sessions, 0)
        as numeric(5, 4)
    ) as view_drop_off_rate,
    cast(
        1.0 * (add_to_cart_sessions - order_sessions) / nullif(add_to_cart_sessions, 0)
        as numeric(5, 4)
    ) as add_drop_off_rate,
    cast(avg_minutes_view_to_add as numeric(10, 2)) as avg_minutes_view_to_add,
    cast(median_minutes_view_to_add as numeric(10, 2)) as median_minutes_view_to_add,
    cast(avg_minutes_add_to_order as numeric(10, 2)) as avg_minutes_add_to_order,
    cast(median_minutes_add_to_order as numeric(10, 2)) as median_minutes_add_to_order
from weekly
