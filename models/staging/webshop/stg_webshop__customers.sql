with

source as (
    select * from {{ source('webshop', 'customer') }}
    {{ only_new_batches() }}
),

renamed as (
    select
        id as customer_id,
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        nullif(lower(trim(email)), '') as email,
        nullif(trim(phone), '') as phone,
        nullif(trim(street), '') as street,
        nullif(trim(postal_code), '') as postal_code,
        nullif(trim(city), '') as city,
        upper(trim(country_code)) as country_code,
        created_at,
        updated_at,
        deleted_at,
        deleted_at is not null as is_deleted,
        _extracted_at,
        {{ dbt_utils.generate_surrogate_key([
            'id', 'first_name', 'last_name', 'email', 'phone', 'street', 'postal_code',
            'city', 'country_code', epoch('created_at'), epoch('updated_at'), epoch('deleted_at'),
        ]) }} as customer_version_id
    from source
    where {{ reject_reason('customer') }} is null
),

deduplicated as (
    {{ dbt_utils.deduplicate('renamed', 'customer_version_id', '_extracted_at') }}
)

select * from deduplicated
{{ not_already_loaded('deduplicated', 'customer_version_id') }}
