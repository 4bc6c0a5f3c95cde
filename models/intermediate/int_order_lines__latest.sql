-- The current state of every order line: its latest version.
with

versions as (
    select * from {{ ref('stg_webshop__order_lines') }}
),

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
