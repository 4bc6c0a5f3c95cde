{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_id',
        indexes=[
            {'columns': ['order_id']},
            {'columns': ['customer_id']},
            {'columns': ['voucher_id']},
        ],
    )
}}
-- depends_on: {{ ref('int_orders__batches') }}

-- One row per order: when it reached each status, from its version history. A status
-- is reached at the updated_at of the first version that shows it (the contract's
-- definition of shipping time); versions are ordered by updated_at, then batch.
-- Incremental per order: an order with a version in a batch this model has not read is
-- recomputed from all its versions.
with

{% if is_incremental() -%}
touched as (
    {{ touched_orders(ref('int_orders__batches')) }}
),

versions as (
    select order_versions.*
    from touched
    {{ lateral_rows(
        relation=ref('stg_webshop__orders'), key='order_id', outer='touched', alias='order_versions'
    ) }}
),
{%- else %}

versions as (
    select * from {{ ref('stg_webshop__orders') }}
),
{%- endif %}

ordered as (
    select
        *,
        row_number() over (
            partition by order_id
            order by updated_at desc, _extracted_at desc, order_version_id desc
        ) as recency
    from versions
),

-- Status only moves forward (placed, paid, shipped, delivered, returned; cancelled
-- before shipping). A version (of those in force: the last delivered of a tie) whose
-- status cannot follow the one before it is a regression in the source.
in_force as (
    select
        *,
        lag(order_status) over (partition by order_id order by updated_at) as previous_status
    from (
        select
            *,
            row_number() over (
                partition by order_id, updated_at
                order by _extracted_at desc, order_version_id desc
            ) as tie_rank
        from versions
    ) as tie_ranked
    where tie_rank = 1
),

regressions as (
    select
        order_id,
        count(*) as status_regressions
    from in_force
    where not {{ status_can_follow('previous_status', 'order_status') }}
    group by order_id
),

milestones as (
    select
        order_id,
        min(placed_at) as placed_at,
        min(updated_at) filter (where order_status = 'paid') as paid_version_at,
        min(updated_at) filter (
            where order_status in ('shipped', 'delivered', 'returned')
        ) as past_paid_version_at,
        min(updated_at) filter (where order_status = 'shipped') as shipped_at,
        min(updated_at) filter (where order_status = 'delivered') as delivered_at,
        min(updated_at) filter (where order_status = 'cancelled') as cancelled_at,
        min(updated_at) filter (where order_status = 'returned') as returned_at,
        count(*) as versions
    from versions
    group by order_id
)

select
    milestones.order_id,
    latest.customer_id,
    latest.voucher_id,
    latest.order_status,
    milestones.placed_at,
    coalesce(milestones.paid_version_at, milestones.past_paid_version_at) as paid_at,
    milestones.shipped_at,
    milestones.delivered_at,
    milestones.cancelled_at,
    milestones.returned_at,
    milestones.versions,
    coalesce(regressions.status_regressions, 0) > 0 as has_status_regression,
    latest.updated_at
from milestones
inner join ordered as latest
    on milestones.order_id = latest.order_id and latest.recency = 1
left join regressions on milestones.order_id = regressions.order_id
