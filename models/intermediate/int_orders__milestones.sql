-- One row per order: when it reached each status, from its version history. A status
-- is reached at the updated_at of the first version that shows it (the contract's
-- definition of shipping time); versions are ordered by updated_at, then batch.
with

versions as (
    select * from {{ ref('stg_webshop__orders') }}
),

ordered as (
    select
        *,
        row_number() over (
            partition by order_id
            order by updated_at desc, _extracted_at desc, order_version_id desc
        ) as recency
    from versions
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
    latest.updated_at
from milestones
inner join ordered as latest
    on milestones.order_id = latest.order_id and latest.recency = 1
