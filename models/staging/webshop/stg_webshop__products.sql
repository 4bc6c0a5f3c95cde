{{
    config(
        unique_key='product_version_id',
        post_hook=[
            "{{ partial_index('_extracted_at', 'has_unknown_stock') }}",
            "{{ partial_index('_extracted_at', 'has_negative_stock') }}",
            "{{ partial_index('_extracted_at', 'has_unknown_active_status') }}",
        ],
    )
}}
-- depends_on: {{ ref('base_webshop__batches') }}

with

source as (
    select * from {{ source('webshop', 'product') }}
    {%- if is_incremental() %}
    where {{ is_unread('_extracted_at', 'product') }}
    {%- endif %}
),

renamed as (
    select
        {{ raw_content_hash('product') }} as product_version_id,
        id as product_id,
        {{ clean_text('sku') }} as sku,
        {{ clean_text('name') }} as product_name,
        {{ clean_text('category') }} as category,
        price,
        stock_quantity,
        is_active,
        created_at,
        updated_at,
        stock_quantity is null as has_unknown_stock,
        coalesce(stock_quantity < 0, false) as has_negative_stock,
        is_active is null as has_unknown_active_status,
        _extracted_at
    from source
    where {{ reject_reason('product') }} is null
),

deliveries as (
    {{ with_existing('renamed', 'product_version_id') }}
),

first_deliveries as (
    {{ dbt_utils.deduplicate('deliveries', 'product_version_id', '_extracted_at') }}
)

{{ only_changed(
    'first_deliveries', 'product_version_id', ['product_version_id', '_extracted_at']
) }}
