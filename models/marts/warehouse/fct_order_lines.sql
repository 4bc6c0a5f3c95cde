{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_id',
        indexes=[{'columns': ['order_id']}, {'columns': ['order_line_id']}],
    )
}}
-- depends_on: {{ ref('int_orders__batches') }}

-- Incremental per order: the lines of an order are recomputed when its versions or lines
-- changed in a batch this model has not read, or the version in force at its placement of
-- one of its products (placed from the product's changed_from on).
with

{% if is_incremental() -%}
changed_products as (
    {{ versions_changed_from(ref('dim_product'), 'product_id', 'product') }}
),

touched as (
    select touched_by_batches.order_id
    from ({{ touched_orders(ref('int_orders__batches')) }}) as touched_by_batches
    union
    select product_lines.order_id
    from {{ ref('int_order_lines__latest') }} as product_lines
    inner join changed_products on product_lines.product_id = changed_products.product_id
    inner join {{ ref('int_orders__milestones') }} as placed
        on product_lines.order_id = placed.order_id
    where placed.placed_at >= changed_products.changed_from
),

lines as (
    select * from {{ ref('int_order_lines__latest') }}
    where order_id in (select touched.order_id from touched)
),

orders as (
    select * from {{ ref('int_orders__milestones') }}
    where order_id in (select touched.order_id from touched)
),
{%- else %}

lines as (
    select * from {{ ref('int_order_lines__latest') }}
),

orders as (
    select * from {{ ref('int_orders__milestones') }}
),
{%- endif %}

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
