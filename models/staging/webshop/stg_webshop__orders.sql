{{ config(unique_key='order_version_id') }}
-- depends_on: {{ ref('base_webshop__batches') }}

with

source as (
    select * from {{ source('webshop', 'orders') }}
    {%- if is_incremental() %}
    where {{ is_unread('_extracted_at', 'orders') }}
    {%- endif %}
),

renamed as (
    select
        {{ raw_content_hash('orders') }} as order_version_id,
        id as order_id,
        customer_id,
        voucher_id,
        lower({{ unicode_trim('status') }}) as order_status,
        created_at as placed_at,
        updated_at,
        _extracted_at
    from source
    where {{ reject_reason('orders') }} is null
),

deliveries as (
    {{ with_existing('renamed', 'order_version_id') }}
),

first_deliveries as (
    {{ dbt_utils.deduplicate('deliveries', 'order_version_id', '_extracted_at') }}
)

{{ only_changed(
    'first_deliveries', 'order_version_id', ['order_version_id', '_extracted_at']
) }}
