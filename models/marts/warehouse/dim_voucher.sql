{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        unique_key='voucher_id',
        replace_from_column='updated_at',
        indexes=[{'columns': ['voucher_id', 'valid_from']}, {'columns': ['voucher_id', 'updated_at']}],
    )
}}

with

history as (
    {{ scd2_history(
        versions=ref('stg_webshop__vouchers'), key='voucher_id',
        version_id='voucher_version_id', source_table='voucher'
    ) }}
),

versions as (
    select
        {{ dbt_utils.generate_surrogate_key(['voucher_id', epoch('updated_at')]) }} as voucher_sk,
        voucher_id,
        voucher_code,
        discount_type,
        discount_value,
        usable_from,
        usable_until,
        created_at,
        has_unknown_discount_type,
        has_invalid_discount_value,
        has_invalid_validity,
        valid_from,
        valid_to,
        valid_to = {{ open_end() }} as is_current,
        updated_at,
        _extracted_at
    from history
)

{%- if not is_incremental() %}

, special_members as (
    select
        member.voucher_sk,
        member.voucher_id,
        member.voucher_code,
        cast(null as {{ type_text() }}) as discount_type,
        cast(null as numeric(12, 2)) as discount_value,
        cast(null as {{ type_timestamptz() }}) as usable_from,
        cast(null as {{ type_timestamptz() }}) as usable_until,
        cast(null as {{ type_timestamptz() }}) as created_at,
        false as has_unknown_discount_type,
        false as has_invalid_discount_value,
        false as has_invalid_validity,
        cast('1900-01-01 00:00:00+00' as {{ type_timestamptz() }}) as valid_from,
        {{ open_end() }} as valid_to,
        true as is_current,
        cast('1900-01-01 00:00:00+00' as {{ type_timestamptz() }}) as updated_at,
        cast('1900-01-01 00:00:00+00' as {{ type_timestamptz() }}) as _extracted_at
    from (
        values
        ({{ unknown_member_sk() }}, -1, 'unknown'),
        ('-2', -2, 'no voucher')
    ) as member (voucher_sk, voucher_id, voucher_code)
)

select * from versions
union all
select * from special_members
{%- else %}

select * from versions
{%- endif %}
