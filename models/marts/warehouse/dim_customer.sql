{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        unique_key='customer_id',
        replace_from_column='updated_at',
        indexes=[{'columns': ['customer_id', 'valid_from']}, {'columns': ['customer_id', 'updated_at']}],
    )
}}

with

history as (
    {{ scd2_history(
        versions=ref('stg_webshop__customers'), key='customer_id',
        version_id='customer_version_id', source_table='customer',
        reset_column='_closed_extracted_at'
    ) }}
),

versions as (
    select
        {{ dbt_utils.generate_surrogate_key(['customer_id', epoch('updated_at')]) }} as customer_sk,
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
        -- The sign-up cohort, defined here once for every mart that groups by it.
        cast({{ dbt.date_trunc('month', utc_clock('created_at')) }} as date)
            as cohort_month,
        deleted_at,
        is_deleted,
        is_closed_account,
        has_invalid_email,
        has_invalid_country_code,
        valid_from,
        valid_to,
        valid_to = {{ open_end() }} as is_current,
        updated_at,
        _closed_extracted_at,
        _extracted_at
    from history
)

{%- if not is_incremental() %}

, unknown_member as (
    select
        {{ unknown_member_sk() }} as customer_sk,
        -1 as customer_id,
        'unknown' as first_name,
        'unknown' as last_name,
        null as email,
        null as phone,
        null as street,
        null as postal_code,
        null as city,
        null as country_code,
        cast(null as {{ type_timestamptz() }}) as created_at,
        cast(null as date) as cohort_month,
        cast(null as {{ type_timestamptz() }}) as deleted_at,
        false as is_deleted,
        false as is_closed_account,
        false as has_invalid_email,
        false as has_invalid_country_code,
        cast('1900-01-01 00:00:00+00' as {{ type_timestamptz() }}) as valid_from,
        {{ open_end() }} as valid_to,
        true as is_current,
        cast('1900-01-01 00:00:00+00' as {{ type_timestamptz() }}) as updated_at,
        cast(null as {{ type_timestamptz() }}) as _closed_extracted_at,
        cast('1900-01-01 00:00:00+00' as {{ type_timestamptz() }}) as _extracted_at
)

select * from versions
union all
select * from unknown_member
{%- else %}

select * from versions
{%- endif %}
