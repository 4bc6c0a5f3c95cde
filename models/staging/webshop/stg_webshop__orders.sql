with

source as (
    select * from {{ source('webshop', 'orders') }}
    {{ only_new_batches() }}
),

renamed as (
    select
        id as order_id,
        customer_id,
        voucher_id,
        lower(trim(status)) as order_status,
        created_at as placed_at,
        updated_at,
        _extracted_at,
        {{ dbt_utils.generate_surrogate_key([
            'id', 'customer_id', 'voucher_id', 'status', epoch('created_at'), epoch('updated_at'),
        ]) }} as order_version_id
    from source
    where {{ reject_reason('orders') }} is null
),

deduplicated as (
    {{ dbt_utils.deduplicate('renamed', 'order_version_id', '_extracted_at') }}
)

select * from deduplicated
{{ not_already_loaded('deduplicated', 'order_version_id') }}
