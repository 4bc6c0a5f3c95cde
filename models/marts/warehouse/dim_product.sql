{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        unique_key='product_id',
        replace_from_column='updated_at',
        indexes=[
            {'columns': ['product_id', 'valid_from']},
            {'columns': ['product_id', 'updated_at']},
            {'columns': ['_extracted_at']},
        ],
        post_hook=["{{ partial_index('product_id', 'is_current') }}"],
    )
}}

with

history as (
    {{ scd2_history(
        versions=ref('stg_webshop__products'), key='product_id',
        version_id='product_version_id', source_table='product'
    ) }}
),

versions as (
    select
        {{ dbt_utils.generate_surrogate_key(['product_id', epoch('updated_at')]) }} as product_sk,
        product_id,
        sku,
        product_name,
        category,
        price,
        stock_quantity,
        is_active,
        created_at,
        has_unknown_stock,
        has_negative_stock,
        has_unknown_active_status,
        valid_from,
        valid_to,
        valid_to = {{ open_end() }} as is_current,
        updated_at,
        _extracted_at
    from history
)

{%- if not is_incremental() %}

, unknown_member as (
    select
        {{ unknown_member_sk() }} as product_sk,
        -1 as product_id,
        'unknown' as sku,
        'unknown' as product_name,
        'unknown' as category,
        cast(null as numeric(12, 2)) as price,
        cast(null as integer) as stock_quantity,
        false as is_active,
        cast(null as {{ type_timestamptz() }}) as created_at,
        false as has_unknown_stock,
        false as has_negative_stock,
        false as has_unknown_active_status,
        cast('1900-01-01 00:00:00+00' as {{ type_timestamptz() }}) as valid_from,
        {{ open_end() }} as valid_to,
        true as is_current,
        cast('1900-01-01 00:00:00+00' as {{ type_timestamptz() }}) as updated_at,
        cast('1900-01-01 00:00:00+00' as {{ type_timestamptz() }}) as _extracted_at
)

select * from versions
union all
select * from unknown_member
{%- else %}

select * from versions
{%- endif %}
