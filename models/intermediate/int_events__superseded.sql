{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_id',
        indexes=[{'columns': ['event_id']}, {'columns': ['_in_force_extracted_at']}],
    )
}}

-- Event deliveries that are not in force: another content of the same event id was
-- delivered first. Where such an event was (its customer, product and time) is where the
-- sessions may have changed when it lost, so the incremental event models read this to
-- recompute those customers. Incremental per event id: the ids with a delivery this
-- model has not read get their losing deliveries again.
with

{% if is_incremental() -%}
-- The event ids with a delivery this model has not read, then their deliveries that are
-- not in force, one id at a time through the event_id index.
touched as (
    select distinct event_id
    from {{ ref('stg_webshop__events') }}
    where {{ is_unread('_extracted_at', 'event') }}
),

superseded as (
    select deliveries.*
    from touched
    {{ lateral_rows(
        relation=ref('stg_webshop__events'), key='event_id', outer='touched',
        alias='deliveries', condition='not candidate.is_in_force'
    ) }}
)
{%- else %}

superseded as (
    select * from {{ ref('stg_webshop__events') }}
    where not is_in_force
)
{%- endif %}

select
    event_id,
    event_content_id,
    customer_id,
    coalesce(product_id, page_product_id) as product_id,
    event_at,
    _extracted_at,
    _in_force_extracted_at
from superseded
