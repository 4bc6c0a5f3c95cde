{{ config(unique_key='voucher_version_id') }}
-- depends_on: {{ ref('base_webshop__batches') }}

with

source as (
    select * from {{ source('webshop', 'voucher') }}
    {%- if is_incremental() %}
    where {{ is_unread('_extracted_at', 'voucher') }}
    {%- endif %}
),

renamed as (
    select
        {{ raw_content_hash('voucher') }} as voucher_version_id,
        id as voucher_id,
        {{ clean_text('code') }} as voucher_code,
        lower({{ clean_text('discount_type') }}) as discount_type,
        discount_value,
        valid_from as usable_from,
        valid_until as usable_until,
        created_at,
        updated_at,
        _extracted_at
    from source
    where {{ reject_reason('voucher') }} is null
),

-- Kept as delivered, and flagged for a person to look at (see the raw rules' docs).
flagged as (
    select
        voucher_version_id,
        voucher_id,
        voucher_code,
        discount_type,
        discount_value,
        usable_from,
        usable_until,
        created_at,
        updated_at,
        coalesce(discount_type not in ('percentage', 'fixed_amount'), true)
            as has_unknown_discount_type,
        coalesce(
            discount_value < 0 or (discount_type = 'percentage' and discount_value > 100), true
        ) as has_invalid_discount_value,
        coalesce(usable_until < usable_from, false) as has_invalid_validity,
        _extracted_at
    from renamed
),

deliveries as (
    {{ with_existing('flagged', 'voucher_version_id') }}
),

first_deliveries as (
    {{ dbt_utils.deduplicate('deliveries', 'voucher_version_id', '_extracted_at') }}
)

{{ only_changed(
    'first_deliveries', 'voucher_version_id', ['voucher_version_id', '_extracted_at']
) }}
