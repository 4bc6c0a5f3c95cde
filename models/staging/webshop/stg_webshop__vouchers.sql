with

source as (
    select * from {{ source('webshop', 'voucher') }}
    {{ only_new_batches() }}
),

renamed as (
    select
        id as voucher_id,
        trim(code) as voucher_code,
        lower(trim(discount_type)) as discount_type,
        discount_value,
        valid_from as usable_from,
        valid_until as usable_until,
        created_at,
        updated_at,
        _extracted_at,
        {{ dbt_utils.generate_surrogate_key([
            'id', 'code', 'discount_type', 'discount_value', epoch('valid_from'), epoch('valid_until'),
            epoch('created_at'), epoch('updated_at'),
        ]) }} as voucher_version_id
    from source
    where {{ reject_reason('voucher') }} is null
),

deduplicated as (
    {{ dbt_utils.deduplicate('renamed', 'voucher_version_id', '_extracted_at') }}
)

select * from deduplicated
{{ not_already_loaded('deduplicated', 'voucher_version_id') }}
