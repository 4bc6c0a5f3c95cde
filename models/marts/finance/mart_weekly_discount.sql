with

orders as (
    select * from {{ ref('fct_orders') }}
),

calendar as (
    select * from {{ ref('dim_date') }}
),

-- Cancelled orders give no discount (and no revenue): they count as placed only.
weighed as (
    select
        calendar.iso_week_start_date as placed_week,
        orders.order_id,
        orders.cancelled_at is not null as is_cancelled,
        case when orders.cancelled_at is null then orders.gross_amount else 0 end as gross_amount,
        case when orders.cancelled_at is null then orders.discount_amount else 0 end
            as discount_amount
    from orders
    inner join calendar on orders.placed_date = calendar.date_day
)

select
    placed_week,
    count(*) as orders_placed,
    count(*) filter (where is_cancelled) as orders_cancelled,
    count(*) filter (where discount_amount > 0) as orders_with_discount,
    cast(sum(gross_amount) as numeric(38, 2)) as gross_amount,
    cast(sum(discount_amount) as numeric(38, 2)) as discount_amount,
    cast({{ dbt_utils.safe_divide("sum(discount_amount)", "sum(gross_amount)") }} as numeric(6, 4))
        as discount_share_of_gross
from weighed
group by placed_week
