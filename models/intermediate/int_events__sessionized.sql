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

-- Every window below orders a customer's events the same way, so PostgreSQL sorts the
-- events once: a session starts where the gap to the previous event exceeds the limit
-- and ends where the gap to the next one does.
flagged as (
    select
        *,
        row_number() over by_customer as event_number,
        coalesce(event_at - lag(event_at) over by_customer > {{ gap }}, true) as starts_session,
        coalesce(lead(event_at) over by_customer - event_at > {{ gap }}, true) as ends_session
    from scoped
    window by_customer as (partition by customer_id order by event_at, event_id)
),

bounded as (
    select
        *,
        max(case when starts_session then event_at end) over so_far as session_start,
        max(case when starts_session then event_number end) over so_far as first_event_number,
        min(case when ends_session then event_at end) over from_here as session_end
    from flagged
    window
        so_far as (
            partition by customer_id order by event_at, event_id
            rows between unbounded preceding and current row
        ),
        from_here as (
            partition by customer_id order by event_at, event_id
            rows between current row and unbounded following
        )
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
    event_number - first_event_number + 1 as event_number_in_session,
    _extracted_at
from bounded
