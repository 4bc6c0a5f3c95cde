{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        unique_key='product_id',
        replace_from_column='session_week',
        indexes=[{'columns': ['product_id', 'session_week']}],
    )
}}

-- Sessions that touched each product, per ISO week of the session start (the touch side
-- of the product funnel; orders are joined in the mart). Incremental: each product in a
-- session this table has not seen (new, or merged by a late event) is recomputed from
-- the week of the first such session; a merged session starts at or before the sessions
-- it absorbed, so their old weeks are recomputed too.
-- depends_on: {{ ref('fct_sessions') }}
{%- set week_of = dbt.date_trunc('week', "session_start at time zone 'UTC'") %}

with

{% if is_incremental() -%}
touched_sessions as (
    select
        customer_id,
        session_start
    from {{ ref('fct_sessions') }}
    where _extracted_at >= {{ watermark() }}
),

restart as (
    select
        session_products.product_id,
        min(session_products.session_start) as restart_at
    from touched_sessions
    inner join {{ ref('int_session_products') }} as session_products
        on
            touched_sessions.customer_id = session_products.customer_id
            and touched_sessions.session_start = session_products.session_start
    group by session_products.product_id
),

-- One product at a time through the (product_id, session_start) index, from the Monday
-- of the restart week.
restart_weeks as (
    select
        product_id,
        {{ dbt.date_trunc('week', "restart_at at time zone 'UTC'") }} at time zone 'UTC'
            as week_start_at
    from restart
),

scoped as (
    select product_rows.*
    from restart_weeks
    {{ lateral_rows(
        ref('int_session_products'), 'product_id', 'session_start',
        'restart_weeks.week_start_at', 'restart_weeks', 'product_rows'
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
                    then extract(epoch from first_add_at - first_view_at) / 60
            end
        ) as numeric(10, 2)
    ) as avg_minutes_view_to_add,
    max(_extracted_at) as _extracted_at
from weekly
group by product_id, session_week
