{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_id',
        indexes=[
            {'columns': ['order_id']}, {'columns': ['product_id']}, {'columns': ['order_line_id']}
        ],
    )
}}
-- depends_on: {{ ref('int_orders__batches') }}

-- The current state of every order line: its latest version. Incremental per order: the
-- lines of an order with a line version in a batch this model has not read are
-- recomputed from all their versions.
with

{% if is_incremental() -%}
touched as (
    {{ touched_orders(ref('int_orders__batches')) }}
),

versions as (
    select line_versions.*
    from touched
    {{ lateral_rows(
        relation=ref('stg_webshop__order_lines'), key='order_id', outer='touched', alias='line_versions'
    ) }}
),
{%- else %}

versions as (
    select * from {{ ref('stg_webshop__order_lines') }}
),
{%- endif %}

ordered as (
    select
        *,
        row_number() over (
            partition by order_line_id
            order by updated_at desc, _extracted_at desc, order_line_version_id desc
        ) as recency
    from versions
)

select
    order_line_id,
    order_id,
    product_id,
    quantity,
    unit_price,
    discount_amount,
    cast(quantity * unit_price as numeric(38, 2)) as gross_amount,
    cast(quantity * unit_price - discount_amount as numeric(38, 2)) as net_amount,
    created_at,
    updated_at
from ordered
where recency = 1
