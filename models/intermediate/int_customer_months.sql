{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        unique_key='customer_id',
        replace_from_column='activity_month',
        indexes=[{'columns': ['customer_id', 'activity_month']}],
    )
}}
-- depends_on: {{ ref('int_events__superseded') }}

-- Each customer's sessions and events per calendar month (UTC), the event side of
-- mart_customer_monthly_engagement. Incremental: a customer whose events changed is
-- recomputed from the month of the first session the change can reach; sessions that
-- cross midnight into that month bring their events of it.

with

{% if is_incremental() -%}
touches as (
    {{ event_touches(ref('fct_events'), ref('int_events__superseded')) }}
),

restart as (
    {{ customer_restarts('touches', ref('fct_events')) }}
),

-- From the first day of the month of the first new session, the customer's sessions
-- that end in it or later.
{%- set restart_month_start = dbt.date_trunc('month', utc_clock('restart_at')) %}
restart_moments as (
    select
        customer_id,
        cast({{ restart_month_start }} as date) as restart_month,
        {{ utc_moment(restart_month_start) }} as restart_month_at
    from restart
),

scoped as (
    select
        customer_sessions.*,
        restart_moments.restart_month
    from restart_moments
    {{ sessions_ending_from(
        'restart_moments', 'restart_moments.restart_month_at', 'customer_sessions'
    ) }}
),
{%- else %}

scoped as (
    select
        *,
        {{ minus_infinity('date') }} as restart_month
    from {{ ref('fct_sessions') }}
),
{%- endif %}

sessions as (
    select
        customer_id,
        session_start,
        session_end,
        cast({{ utc_clock('session_start') }} as date) as session_date,
        restart_month,
        events,
        page_views,
        product_visits,
        searches,
        cart_adds,
        cart_removals,
        sign_ups,
        product_views,
        unknown_events,
        _extracted_at,
        -- Its counts all fall on one UTC day.
        cast({{ utc_clock('session_start') }} as date)
        = cast({{ utc_clock('session_end') }} as date) as is_counted_per_session
    from scoped
),

session_months as (
    select
        customer_id,
        cast({{ dbt.date_trunc('month', utc_clock('session_start')) }} as date)
            as activity_month,
        count(*) as sessions,
        max(_extracted_at) as _extracted_at
    from sessions
    where session_date >= restart_month
    group by customer_id, activity_month
),

single_day_sessions as (
    select
        customer_id,
        session_date as event_date,
        events,
        page_views as page_view_events,
        product_visits as product_visit_events,
        searches as search_events,
        cart_adds as add_to_cart_events,
        cart_removals as remove_from_cart_events,
        sign_ups as sign_up_events,
        unknown_events as other_events,
        product_views
    from sessions
    where is_counted_per_session and session_date >= restart_month
),

other_sessions as (
    select
        events.customer_id,
        events.event_date,
        count(*) as events,
        count(*) filter (where events.event_type = 'PAGE_VIEW') as page_view_events,
        count(*) filter (where events.is_product_visit) as product_visit_events,
        count(*) filter (where events.event_type = 'SEARCH') as search_events,
        count(*) filter (where events.event_type = 'ADD_PRODUCT_TO_CART') as add_to_cart_events,
        count(*) filter (
            where events.event_type = 'REMOVE_PRODUCT_FROM_CART'
        ) as remove_from_cart_events,
        count(*) filter (where events.event_type = 'SIGN_UP_SUCCESS') as sign_up_events,
        count(*) filter (where not events.is_known_event_type) as other_events,
        count(*) filter (where events.is_product_view) as product_views
    from sessions
    {{ join_session_events('sessions') }}
    where
        not sessions.is_counted_per_session
        and events.event_date >= sessions.restart_month
    group by events.customer_id, events.event_date
),

event_days as (
    select
        customer_id,
        event_date,
        sum(events) as events,
        sum(page_view_events) as page_view_events,
        sum(product_visit_events) as product_visit_events,
        sum(search_events) as search_events,
        sum(add_to_cart_events) as add_to_cart_events,
        sum(remove_from_cart_events) as remove_from_cart_events,
        sum(sign_up_events) as sign_up_events,
        sum(other_events) as other_events,
        sum(product_views) as product_views
    from (
        select * from single_day_sessions
        union all
        select * from other_sessions
    ) as session_days
    group by customer_id, event_date
),

event_months as (
    select
        event_days.customer_id,
        cast({{ dbt.date_trunc('month', 'event_days.event_date') }} as date) as activity_month,
        count(*) as active_days,
        cast(sum(event_days.events) as bigint) as events,
        cast(sum(event_days.page_view_events) as bigint) as page_view_events,
        cast(sum(event_days.product_visit_events) as bigint) as product_visit_events,
        cast(sum(event_days.search_events) as bigint) as search_events,
        cast(sum(event_days.add_to_cart_events) as bigint) as add_to_cart_events,
        cast(sum(event_days.remove_from_cart_events) as bigint) as remove_from_cart_events,
        cast(sum(event_days.sign_up_events) as bigint) as sign_up_events,
        cast(sum(event_days.other_events) as bigint) as other_events,
        cast(sum(event_days.product_views) as bigint) as product_views
    from event_days
    group by event_days.customer_id, activity_month
)

-- A session's first event is in the month it starts, so every month with a session
-- start has events; a month can have events and no session start (a session crossing
-- midnight into it).
select
    event_months.customer_id,
    event_months.activity_month,
    coalesce(session_months.sessions, 0) as sessions,
    event_months.active_days,
    event_months.events,
    event_months.page_view_events,
    event_months.product_visit_events,
    event_months.search_events,
    event_months.add_to_cart_events,
    event_months.remove_from_cart_events,
    event_months.sign_up_events,
    event_months.other_events,
    event_months.product_views,
    session_months._extracted_at
from event_months
left join session_months
    on
        event_months.customer_id = session_months.customer_id
        and event_months.activity_month = session_months.activity_month
