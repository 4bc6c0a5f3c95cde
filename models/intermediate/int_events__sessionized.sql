{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        unique_key='customer_id',
        replace_from_column='event_at',
        indexes=[
            {'columns': ['customer_id', 'event_at']},
            {'columns': ['product_id', 'event_at']},
            {'columns': ['_extracted_at']},
        ],
    )
}}

{%- set gap = "interval '" ~ var('session_gap_minutes') ~ " minutes'" %}

with

{% if is_incremental() -%}
new_events as (
    select
        customer_id,
        min(event_at) as first_new_event_at
    from {{ ref('stg_webshop__events') }}
    where customer_id is not null and _extracted_at >= {{ watermark() }}
    group by customer_id
),

-- A new event can only join sessions ending less than one gap before it: those with an
-- event at or after that moment. Sessionize each touched customer again from the start
-- of the first such session (a true session boundary), or from the new event itself.
-- Both lookups go one customer at a time through a (customer_id, event_at) index.
restart as (
    select
        new_events.customer_id,
        least(new_events.first_new_event_at, joinable.session_start) as restart_at
    from new_events
    cross join lateral (
        select min(sessionized.session_start) as session_start
        from {{ this }} as sessionized
        where
            sessionized.customer_id = new_events.customer_id
            and sessionized.event_at >= new_events.first_new_event_at - {{ gap }}
    ) as joinable
),

scoped as (
    {{ customer_rows_from(ref('stg_webshop__events')) }}
),
{%- else %}

scoped as (
    select * from {{ ref('stg_webshop__events') }}
    where customer_id is not null
),
{%- endif %}

-- Product page views carry no product in the tracker's document; their product is the
-- id after the URL's first /product/, up to the next /, ? or # (string functions: a
-- regex with a capture group costs 5x more per row).
url_parts as (
    select
        *,
        case
            when page_url like '%/product/%' then split_part(
                split_part(split_part(split_part(page_url, '/product/', 2), '/', 1), '?', 1),
                '#',
                1
            )
        end as page_product_text
    from scoped
),

with_page_product as (
    select
        *,
        case
            when page_product_text ~ '^[0-9]{1,18}$' then cast(page_product_text as bigint)
        end as page_product_id
    from url_parts
),

described as (
    select
        *,
        case
            when event_type = 'PAGE_VIEW' then page_product_id is not null
            when event_type like 'VISIT\_%' and is_known_event_type then product_id is not null
            else false
        end as is_product_view
    from with_page_product
),

flagged as (
    select
        *,
        case
            when lag(event_at) over by_customer is null then 1
            when event_at - lag(event_at) over by_customer > {{ gap }} then 1
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

bounded as (
    select
        *,
        max(event_at) over (partition by customer_id, session_number) as session_end,
        event_number - session_first_event_number + 1 as event_number_in_session
    from numbered
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
    _extracted_at
from bounded
