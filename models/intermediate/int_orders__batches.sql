{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_id',
        indexes=[
            {'columns': ['_extracted_at']},
            {'columns': ['order_id']},
        ],
    )
}}

-- Which orders each raw batch touched: one row per order, raw table and batch moment at
-- which one of its versions or one of its lines' versions was first delivered. The
-- incremental order models recompute the orders of the batches they have not read,
-- whatever order the batches arrive in (a version re-delivered in an earlier batch moves
-- here too).
-- Incremental per order: an order with a staged row this model has not read gets its
-- batch moments again.
with

orders as (
    select
        order_id,
        'orders' as source_table,
        _extracted_at
    from {{ ref('stg_webshop__orders') }}
),

order_lines as (
    select
        order_id,
        'order_line' as source_table,
        _extracted_at
    from {{ ref('stg_webshop__order_lines') }}
),

{% if is_incremental() -%}
touched as (
    select order_id from orders
    where {{ is_unread('_extracted_at', 'orders') }}
    union
    select order_id from order_lines
    where {{ is_unread('_extracted_at', 'order_line') }}
),

moments as (
    select * from orders
    where order_id in (select touched.order_id from touched)
    union
    select * from order_lines
    where order_id in (select touched.order_id from touched)
)
{%- else %}

moments as (
    select * from orders
    union
    select * from order_lines
)
{%- endif %}

select
    order_id,
    source_table,
    _extracted_at
from moments
