{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        unique_key='product_id',
        replace_from_column='changed_at',
        indexes=[{'columns': ['product_id', 'changed_at']}],
        pre_hook="{{ replace_from_restarts(
            'select product_id, changed_from as restart_at from ('
            ~ versions_changed_from(ref('dim_product'), 'product_id', 'product')
            ~ ') as changed'
        ) }}",
    )
}}

-- Incremental per product: a product with a version this mart has not read is recomputed
-- from that version's valid_from on (from its first version when the new one is its
-- first: versions_changed_from), reading from the version before it, whose price is the
-- previous price of the first row. The pre-hook keeps those points for the model and
-- deletes the product's rows from there, since a change can also vanish (a tied version
-- with the old price wins).
with

{% if is_incremental() -%}
-- the pre-hook's points (restart_relation): versions_changed_from's rows
changed as (
    select
        product_id,
        restart_at as changed_from
    from {{ restart_relation() }}
),

read_from as (
    select
        changed.product_id,
        changed.changed_from,
        coalesce(
            {{ latest_before(
                ref('dim_product'), 'product_id', 'valid_from', 'changed', 'changed.changed_from'
            ) }},
            {{ minus_infinity() }}
        ) as read_from
    from changed
    where changed.product_id != -1
),

products as (
    select
        product_versions.*,
        read_from.changed_from
    from read_from
    {{ lateral_rows(
        relation=ref('dim_product'), key='product_id', column='valid_from',
        since='read_from.read_from', outer='read_from', alias='product_versions'
    ) }}
),
{%- else %}

products as (
    select
        *,
        {{ minus_infinity() }} as changed_from
    from {{ ref('dim_product') }}
    where product_id != -1
),
{%- endif %}

versions as (
    select
        *,
        lag(price) over (partition by product_id order by valid_from) as previous_price
    from products
)

select
    product_sk,
    product_id,
    sku,
    product_name,
    category,
    valid_from as changed_at,
    cast({{ utc_clock('valid_from') }} as date) as changed_date,
    cast(previous_price as numeric(12, 2)) as previous_price,
    price as new_price,
    cast(price - previous_price as numeric(12, 2)) as price_change,
    cast((price - previous_price) / nullif(previous_price, 0) as numeric(18, 4))
        as price_change_share
from versions
where price != previous_price and valid_from >= changed_from
