with

source as (
    select * from {{ source('webshop', 'order_line') }}
    {{ only_new_batches() }}
),

renamed as (
    select
        id as order_line_id,
        order_id,
        product_id,
        quantity,
        unit_price,
        discount_amount,
        created_at,
        updated_at,
        _extracted_at,
        {{ dbt_utils.generate_surrogate_key([
            'id', 'order_id', 'product_id', 'quantity', 'unit_price', 'discount_amount',
            epoch('created_at'), epoch('updated_at'),
        ]) }} as order_line_version_id
    from source
    where {{ reject_reason('order_line') }} is null
),

deduplicated as (
    {{ dbt_utils.deduplicate('renamed', 'order_line_version_id', '_extracted_at') }}
)

select * from deduplicated
{{ not_already_loaded('deduplicated', 'order_line_version_id') }}
