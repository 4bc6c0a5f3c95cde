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

events as (
    select * from {{ ref('stg_webshop__events') }}
),

superseded as (
    select * from events
    where
        not is_in_force
        {%- if is_incremental() %}
        and event_id in (
            select delivered.event_id from events as delivered
            where {{ is_unread('delivered._extracted_at', 'event') }}
        )
        {%- endif %}
)

select
    event_id,
    event_content_id,
    customer_id,
    coalesce(product_id, {{ page_product_id('page_url') }}) as product_id,
    event_at,
    _extracted_at,
    _in_force_extracted_at
from superseded
