with

lines as (
    select * from {{ ref('int_order_lines__latest') }}
),

orders as (
    select * from {{ ref('int_orders__milestones') }}
),

products as (
    select * from {{ ref('dim_product') }}
)

-- A line whose order the warehouse does not know (yet) is kept: no customer, no
-- placement moment, the unknown product version; is_order_known says so.
select
    lines.order_line_id,
    lines.order_id,
    orders.order_id is not null as is_order_known,
    orders.customer_id,
    lines.product_id,
    coalesce(products.product_sk, {{ unknown_member_sk() }}) as product_sk,
    orders.placed_at,
    lines.quantity,
    lines.unit_price,
    lines.gross_amount,
    lines.discount_amount,
    lines.net_amount,
    products.price as list_price_at_placement
from lines
left join orders on lines.order_id = orders.order_id
left join products
    on
        lines.product_id = products.product_id
        and orders.placed_at >= products.valid_from
        and orders.placed_at < products.valid_to
