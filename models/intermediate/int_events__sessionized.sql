{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        unique_key='customer_id',
        replace_from_column='event_at',
        indexes=[
            {'columns': ['customer_id', 'session_start']},
            {'columns': ['product_id', 'event_at']},
            {'columns': ['_extracted_at']},
        ],
    )
}}

{%- set gap = "interval '" ~ var('session_gap_minutes') ~ " minutes'" %}

with

events as (
    select * from {{ ref('stg_webshop__events') }}
    where customer_id is not null
),

{% if is_incremental() -%}
new_events as (
    select
        events.customer_id,
        min(events.event_at) as first_new_event_at
    from events
    where
        events._extracted_at >= (
            select max(sessionized._extracted_at) from {{ this }} as sessionized
        )
    group by events.customer_id
),

-- A new event can only join sessions ending less than one gap before it. Sessionize
-- each touched customer again from the start of the first such session (a true
-- session boundary), or from the new event itself.
restart as (
    select
        new_events.customer_id,
        least(new_events.first_new_event_at, min(sessionized.session_start)) as restart_at
    from new_events
    left join {{ this }} as sessionized
        on
            new_events.customer_id = sessionized.customer_id
            and sessionized.session_end >= new_events.first_new_event_at - {{ gap }}
    group by new_events.customer_id, new_events.first_new_event_at
),
{%- endif %}

scoped as (
    select events.*
    from events
    {% if is_incremental() -%}
    inner join restart
        on
            events.customer_id = restart.customer_id
            and events.event_at >= restart.restart_at
    {%- endif %}
),

flagged as (
    select
        *,
        case
            when lag(event_at) over by_customer is null then 1
            when event_at - lag(event_at) over by_customer > {{ gap }} then 1
            else 0
        end as starts_session
    from scoped
    window by_customer as (partition by customer_id order by event_at, event_id)
),

numbered as (
    select
        *,
        sum(starts_session) over (
            partition by customer_id
            order by event_at, event_id
            rows between unbounded preceding and current row
        ) as session_number
    from flagged
),

bounded as (
    select
        *,
        min(event_at) over by_session as session_start,
        max(event_at) over by_session as session_end,
        row_number() over (
            partition by customer_id, session_number order by event_at, event_id
        ) as event_number_in_session
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
    page_url,
    referrer_url,
    product_id,
    quantity,
    search_query,
    list_position,
    session_start,
    session_end,
    event_number_in_session,
    _extracted_at
from bounded
