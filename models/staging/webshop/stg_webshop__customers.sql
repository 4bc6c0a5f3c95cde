{{ config(unique_key='customer_id') }}
-- depends_on: {{ ref('base_webshop__batches') }}

{#- Personal data goes when the person goes: once any raw version of a customer (even
    one the rules reject) has deleted_at, every version of that customer is kept without
    name, e-mail, phone and street, and versions that then look the same are one. A
    version's id hashes its content as kept, so scrubbing raw (`webshop
    scrub-closed-accounts`) changes nothing here. Incremental per customer: a customer with
    a row in a batch this model has not read is recomputed from all its raw rows. #}

with

{% if is_incremental() -%}
touched as (
    select distinct id
    from {{ source('webshop', 'customer') }}
    where {{ is_unread('_extracted_at', 'customer') }}
),

source as (
    select * from {{ source('webshop', 'customer') }}
    where id in (select touched.id from touched)
),
{%- else %}

source as (
    select * from {{ source('webshop', 'customer') }}
),
{%- endif %}

-- Every account with a closing version: when it first closed, and the first batch that
-- said so (the moment its older versions lose their personal data).
closed_accounts as (
    select
        id as customer_id,
        min(updated_at) as closed_at,
        min(_extracted_at) as _closed_extracted_at
    from source
    where deleted_at is not null and id is not null
    group by id
),

delivered as (
    select
        source.*,
        closed_accounts.customer_id is not null as is_closed_account,
        closed_accounts.closed_at,
        closed_accounts._closed_extracted_at
    from source
    left join closed_accounts on source.id = closed_accounts.customer_id
    where {{ reject_reason('customer', 'source') }} is null
),

renamed as (
    select
        {{ raw_content_hash('customer', 'delivered', erase_when='delivered.is_closed_account') }}
            as customer_version_id,
        delivered.id as customer_id,
        {%- for column in ['first_name', 'last_name', 'phone', 'street'] %}
        case
            when not delivered.is_closed_account then {{ clean_text('delivered.' ~ column) }}
        end as {{ column }},
        {%- endfor %}
        case
            when not delivered.is_closed_account
                then lower({{ clean_text('delivered.email') }})
        end as email,
        {{ clean_text('delivered.postal_code') }} as postal_code,
        {{ clean_text('delivered.city') }} as city,
        upper({{ clean_text('delivered.country_code') }}) as country_code,
        delivered.created_at,
        delivered.updated_at,
        delivered.deleted_at,
        delivered.deleted_at is not null as is_deleted,
        delivered.is_closed_account,
        coalesce(
            delivered.deleted_at is null and delivered.updated_at > delivered.closed_at, false
        ) as has_version_after_closing,
        delivered._closed_extracted_at,
        delivered._extracted_at
    from delivered
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
        is_closed_account,
        coalesce(
            not {{ matches('email', '^[^@[:space:]]+@[^@[:space:]]+[.][^@[:space:].]+$') }}, false
        ) as has_invalid_email,
        coalesce(
            not {{ matches('country_code', '^[A-Z]{2}$') }}, false
        ) as has_invalid_country_code,
        has_version_after_closing,
        _closed_extracted_at,
        _extracted_at
    from renamed
),

first_deliveries as (
    {{ dbt_utils.deduplicate('flagged', 'customer_version_id', '_extracted_at') }}
)

{{ only_changed(
    'first_deliveries', 'customer_id', ['customer_id', 'customer_version_id', '_extracted_at']
) }}
