{{ config(unique_key='customer_version_id') }}
-- depends_on: {{ ref('base_webshop__batches') }}

with

source as (
    select * from {{ source('webshop', 'customer') }}
    {%- if is_incremental() %}
    where {{ is_unread('_extracted_at', 'customer') }}
    {%- endif %}
),

renamed as (
    select
        {{ raw_content_hash('customer') }} as customer_version_id,
        id as customer_id,
        {{ clean_text('first_name') }} as first_name,
        {{ clean_text('last_name') }} as last_name,
        lower({{ clean_text('email') }}) as email,
        {{ clean_text('phone') }} as phone,
        {{ clean_text('street') }} as street,
        {{ clean_text('postal_code') }} as postal_code,
        {{ clean_text('city') }} as city,
        upper({{ clean_text('country_code') }}) as country_code,
        created_at,
        updated_at,
        deleted_at,
        deleted_at is not null as is_deleted,
        _extracted_at
    from source
    where {{ reject_reason('customer') }} is null
),

-- Kept as delivered, and flagged for a person to look at (see the raw rules' docs).
flagged as (
    select
        customer_version_id,
        customer_id,
        first_name,
        last_name,
        email,
        phone,
        street,
        postal_code,
        city,
        country_code,
        created_at,
        updated_at,
        deleted_at,
        is_deleted,
        coalesce(not email ~ '^[^@[:space:]]+@[^@[:space:]]+[.][^@[:space:].]+$', false)
            as has_invalid_email,
        coalesce(not country_code ~ '^[A-Z]{2}$', false) as has_invalid_country_code,
        _extracted_at
    from renamed
),

deliveries as (
    {{ with_existing('flagged', 'customer_version_id') }}
),

first_deliveries as (
    {{ dbt_utils.deduplicate('deliveries', 'customer_version_id', '_extracted_at') }}
)

{{ only_changed(
    'first_deliveries', 'customer_version_id', ['customer_version_id', '_extracted_at']
) }}
