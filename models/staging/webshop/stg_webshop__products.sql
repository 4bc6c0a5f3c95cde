with

source as (
    select * from {{ source('webshop', 'product') }}
    {{ only_new_batches() }}
),

renamed as (
    select
        id as product_id,
        trim(sku) as sku,
        trim(name) as product_name,
        trim(category) as category,
        price,
        stock_quantity,
        is_active,
        created_at,
        updated_at,
        _extracted_at,
        {{ dbt_utils.generate_surrogate_key([
            'id', 'sku', 'name', 'category', 'price', 'stock_quantity', 'is_active',
            epoch('created_at'), epoch('updated_at'),
        ]) }} as product_version_id
    from source
    where {{ reject_reason('product') }} is null
),

deduplicated as (
    {{ dbt_utils.deduplicate('renamed', 'product_version_id', '_extracted_at') }}
)

select * from deduplicated
{{ not_already_loaded('deduplicated', 'product_version_id') }}
