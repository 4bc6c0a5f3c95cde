{{ config(unique_key='order_line_version_id') }}
-- depends_on: {{ ref('base_webshop__batches') }}

with

source as (
    select * from {{ source('webshop', 'order_line') }}
    {%- if is_incremental() %}
    where {{ is_unread('_extracted_at', 'order_line') }}
    {%- endif %}
),

renamed as (
    select
        {{ raw_content_hash('order_line') }} as order_line_version_id,
        id as order_line_id,
        order_id,
        product_id,
        quantity,
        unit_price,
        discount_amount,
        created_at,
        updated_at,
        _extracted_at
    from source
    where {{ reject_reason('order_line') }} is null
),

deliveries as (
    {{ with_existing('renamed', 'order_line_version_id') }}
),

first_deliveries as (
    {{ dbt_utils.deduplicate('deliveries', 'order_line_version_id', '_extracted_at') }}
)

{{ only_changed(
    'first_deliveries', 'order_line_version_id', ['order_line_version_id', '_extracted_at']
) }}
