{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        unique_key='product_id',
        replace_from_column='session_week',
        indexes=[{'columns': ['product_id', 'session_week']}],
    )
}}
-- depends_on: {{ ref('int_events__superseded') }}
-- depends_on: {{ ref('fct_events') }}

-- Sessions that touched each product, per ISO week of the session start (the touch side
-- of the product funnel; orders are joined in the mart). Incremental: the customers whose
-- events changed are found as in fct_sessions; each product of their sessions from where
-- the change can reach, and each product of a changed event, is recomputed from the week
-- of the earliest of those sessions (a session that vanished, merged or split started at
-- or after its customer's restart).
{%- set week_of = dbt.date_trunc('week', utc_clock('session_start')) %}

with

{% if is_incremental() -%}
touches as (
    {{ event_touches(ref('fct_events'), ref('int_events__superseded')) }}
),

customer_restart as (
    {{ customer_restarts('touches', ref('fct_events')) }}
),

restart as (
    select
        product_id,
        min(restart_at) as restart_at
    from (
        select
            customer_sessions.product_id,
            customer_sessions.session_start as restart_at
        from customer_restart
        {{ lateral_rows(
            relation=ref('int_session_products'), key='customer_id', column='session_start',
            since='customer_restart.restart_at', outer='customer_restart',
            alias='customer_sessions'
        ) }}
        union all
        select
            touches.product_id,
            customer_restart.restart_at
        from touches
        inner join customer_restart on touches.customer_id = customer_restart.customer_id
        where touches.product_id is not null
    ) as touched
    group by product_id
),

-- One product at a time through the (product_id, session_start) index, from the Monday
-- of the restart week.
restart_weeks as (
    select
        product_id,
        {{ utc_moment(dbt.date_trunc('week', utc_clock('restart_at'))) }}
            as week_start_at
    from restart
),

scoped as (
    select product_rows.*
    from restart_weeks
    {{ lateral_rows(
        relation=ref('int_session_products'), key='product_id', column='session_start',
        since='restart_weeks.week_start_at', outer='restart_weeks', alias='product_rows'
    ) }}
),
{%- else %}

scoped as (
    select * from {{ ref('int_session_products') }}
),
{%- endif %}

weekly as (
    select
        *,
        cast({{ week_of }} as date) as session_week
    from scoped
)

select
    product_id,
    session_week,
    count(*) as product_sessions,
    count(first_view_at) as view_sessions,
    count(first_add_at) as add_to_cart_sessions,
    cast(
        avg(
            case
                when first_view_at <= first_add_at
                    then {{ seconds_between('first_view_at', 'first_add_at') }} / 60
            end
        ) as numeric(10, 2)
    ) as avg_minutes_view_to_add,
    max(_extracted_at) as _extracted_at
from weekly
group by product_id, session_week
