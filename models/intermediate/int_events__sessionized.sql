{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        unique_key='customer_id',
        replace_from_column='event_at',
        pre_hook="{{ prefer_parallel_sort() }}",
        indexes=[
            {'columns': ['customer_id', 'event_at']},
            {'columns': ['product_id', 'event_at']},
            {'columns': ['_extracted_at']},
            {'columns': ['event_id']},
        ],
    )
}}
-- depends_on: {{ ref('int_events__superseded') }}

with

{% if is_incremental() -%}
-- Where events changed (new, late, re-delivered out of order, or superseded by an earlier
-- delivery of their id), and so from which session each touched customer is sessionized
-- again, looked up in this table's current sessions (one customer at a time, through the
-- (customer_id, event_at) index).
events_in_force as (
    select * from {{ ref('stg_webshop__events') }}
    where is_in_force
),

touches as (
    {{ event_touches('events_in_force', ref('int_events__superseded')) }}
),

restart as (
    {{ customer_restarts('touches', this) }}
),

scoped as (
    {{ customer_rows_from(ref('stg_webshop__events')) }}
    where customer_rows.is_in_force
),
{%- else %}

scoped as (
    select * from {{ ref('stg_webshop__events') }}
    where customer_id is not null and is_in_force
),
{%- endif %}

-- Product page views carry no product in the tracker's document: it is in the page URL
-- (page_product_id, staged).
described as (
    select
        *,
        case
            when event_type = 'PAGE_VIEW' then page_product_id is not null
            when is_product_visit then product_id is not null
            else false
        end as is_product_view
    from scoped
),

flagged as (
    select
        *,
        case
            when lag(event_at) over by_customer is null then 1
            when event_at - lag(event_at) over by_customer > {{ session_gap() }} then 1
            else 0
        end as starts_session,
        row_number() over by_customer as event_number
    from described
    window by_customer as (partition by customer_id order by event_at, event_id)
),

-- Running over the same order (no second sort): the session number, the time and event
-- number of the latest session start so far (this event's session's), and the event
-- number of the latest product view so far.
numbered as (
    select
        *,
        sum(starts_session) over running as session_number,
        max(case when starts_session = 1 then event_at end) over running as session_start,
        max(case when starts_session = 1 then event_number end) over running
            as session_first_event_number,
        max(case when is_product_view then event_number end) over running
            as last_product_view_number
    from flagged
    window running as (
        partition by customer_id
        order by event_at, event_id
        rows between unbounded preceding and current row
    )
),

-- Over each session: its end, its first page view (the landing page) and its newest
-- batch moment.
bounded as (
    select
        *,
        max(event_at) over by_session as session_end,
        min(case when event_type = 'PAGE_VIEW' then event_number end) over by_session
            as landing_event_number,
        max(_extracted_at) over by_session as _session_extracted_at,
        event_number - session_first_event_number + 1 as event_number_in_session
    from numbered
    window by_session as (partition by customer_id, session_number)
)

select
    {{ dbt_utils.generate_surrogate_key(['customer_id', epoch('session_start')]) }} as session_id,
    event_id,
    customer_id,
    event_at,
    event_type,
    is_known_event_type,
    is_cart_event,
    is_product_visit,
    page_url,
    referrer_url,
    product_id,
    page_product_id,
    is_product_view,
    coalesce(last_product_view_number >= session_first_event_number, false)
        as follows_product_view,
    quantity,
    search_query,
    list_position,
    session_start,
    session_end,
    event_number_in_session,
    coalesce(event_number = landing_event_number, false) as is_landing_page,
    _extracted_at,
    _session_extracted_at
from bounded
