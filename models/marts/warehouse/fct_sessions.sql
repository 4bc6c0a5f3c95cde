{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        unique_key='customer_id',
        replace_from_column='session_start',
        indexes=[
            {'columns': ['customer_id', 'session_start']},
            {'columns': ['session_id']},
            {'columns': ['session_end']},
        ],
        post_hook=[
            "{{ partial_index('session_start', 'unpriced_cart_events > 0') }}",
            "{{ partial_index('session_start', 'units_removed_not_in_cart > 0') }}",
        ],
    )
}}
-- depends_on: {{ ref('int_events__superseded') }}

with

products as (
    select * from {{ ref('dim_product') }}
),

{% if is_incremental() -%}
-- Customers whose events changed (new, late, out of order or superseded), from the first
-- session such a change can reach.
touches as (
    {{ event_touches(ref('int_events__sessionized'), ref('int_events__superseded')) }}
),

touched_by_events as (
    {{ customer_restarts('touches', ref('int_events__sessionized')) }}
),

-- Sessions whose cart events are priced differently now: a product version arrived
-- that is in force from before the event (out-of-order versions move old windows).
new_product_versions as (
    select
        product_id,
        min(valid_from) as changed_from
    from {{ ref('dim_product') }}
    where {{ is_unread('_extracted_at', 'product') }}
    group by product_id
),

touched_by_prices as (
    select
        priced.customer_id,
        min(priced.session_start) as restart_at
    from new_product_versions
    {{ lateral_rows(
        relation=ref('int_events__sessionized'), key='product_id', column='event_at',
        since='new_product_versions.changed_from', outer='new_product_versions', alias='priced'
    ) }}
    where priced.is_cart_event
    group by priced.customer_id
),

restart as (
    select
        customer_id,
        min(restart_at) as restart_at
    from (
        select * from touched_by_events
        union all
        select * from touched_by_prices
    ) as touched
    group by customer_id
),

-- A session starting at or after restart_at holds exactly the events at or after it
-- (restart_at is a session start), read per customer through (customer_id, event_at).
scoped as {{ cte_materialized(false) }} (
    {{ customer_rows_from(ref('int_events__sessionized')) }}
),
{%- else %}

scoped as {{ cte_materialized(false) }} (
    select * from {{ ref('int_events__sessionized') }}
),
{%- endif %}

-- Each cart event with the list price in force at its moment (point in time) and the
-- units it adds to or takes from the session's cart of that product.
cart_events as (
    select
        scoped.session_id,
        scoped.product_id,
        scoped.event_id,
        scoped.event_at,
        scoped.event_type = 'ADD_PRODUCT_TO_CART' as is_add,
        scoped.quantity,
        products.price,
        case
            when scoped.event_type = 'ADD_PRODUCT_TO_CART' then scoped.quantity
            else -scoped.quantity
        end as unit_change
    from scoped
    left join products
        on
            scoped.product_id = products.product_id
            and scoped.event_at >= products.valid_from
            and scoped.event_at < products.valid_to
    where scoped.is_cart_event
),

-- A cart never holds fewer than zero units: a removal of more units than the session
-- added empties the cart, and the rest is counted, not subtracted. The running sum
-- clamped at zero is the running sum minus its lowest point so far when that is negative.
running_units as (
    select
        *,
        sum(unit_change) over by_product as unclamped_units
    from cart_events
    window by_product as (
        partition by session_id, product_id
        order by event_at, event_id
        rows between unbounded preceding and current row
    )
),

cart_units as (
    select
        *,
        unclamped_units - least(0, min(unclamped_units) over by_product) as units_in_cart
    from running_units
    window by_product as (
        partition by session_id, product_id
        order by event_at, event_id
        rows between unbounded preceding and current row
    )
),

cart_moves as (
    select
        *,
        case
            when not is_add
                then coalesce(lag(units_in_cart) over by_product, 0) - units_in_cart
        end as units_removed
    from cart_units
    window by_product as (partition by session_id, product_id order by event_at, event_id)
),

cart_values as (
    select
        session_id,
        coalesce(sum(quantity * price) filter (where is_add), 0) as cart_value_added,
        coalesce(sum(units_removed * price) filter (where not is_add), 0) as cart_value_removed,
        coalesce(sum(quantity - units_removed) filter (where not is_add), 0)
            as units_removed_not_in_cart,
        count(*) filter (where price is null) as unpriced_cart_events
    from cart_moves
    group by session_id
),

sessions as (
    select
        session_id,
        customer_id,
        session_start,
        session_end,
        cast(round({{ seconds_between('session_start', 'session_end') }}) as bigint)
            as duration_seconds,
        count(*) as events,
        count(*) filter (where event_type = 'PAGE_VIEW') as page_views,
        count(*) filter (where event_type = 'ADD_PRODUCT_TO_CART') as cart_adds,
        count(*) filter (where event_type = 'REMOVE_PRODUCT_FROM_CART') as cart_removals,
        count(*) filter (where event_type = 'SEARCH') as searches,
        count(*) filter (where event_type = 'SIGN_UP_SUCCESS') as sign_ups,
        count(*) filter (where is_product_visit) as product_visits,
        count(*) filter (where is_product_view) as product_views,
        min(event_at) filter (where is_product_view) as first_product_view_at,
        min(event_at) filter (
            where event_type = 'ADD_PRODUCT_TO_CART' and follows_product_view
        ) as first_cart_add_after_view_at,
        count(*) filter (where not is_known_event_type) as unknown_events,
        count(*) filter (
            where event_type = 'PAGE_VIEW' and page_url like '%/checkout/confirmation%'
        ) as orders_confirmed,
        -- the first page view, flagged by the sessionization (no sort of the page views)
        max(page_url) filter (where is_landing_page) as landing_page_url,
        max(referrer_url) filter (where is_landing_page) as referrer_url,
        max(_extracted_at) as _extracted_at
    from scoped
    group by session_id, customer_id, session_start, session_end
)

select
    sessions.session_id,
    sessions.customer_id,
    sessions.session_start,
    sessions.session_end,
    sessions.duration_seconds,
    sessions.events,
    sessions.page_views,
    sessions.cart_adds,
    sessions.cart_removals,
    sessions.searches,
    sessions.sign_ups,
    sessions.product_visits,
    sessions.product_views,
    sessions.unknown_events,
    sessions.orders_confirmed,
    sessions.first_product_view_at,
    sessions.first_cart_add_after_view_at,
    sessions.landing_page_url,
    sessions.referrer_url,
    cast(coalesce(cart_values.cart_value_added, 0) as numeric(38, 2)) as cart_value_added,
    cast(
        greatest(coalesce(cart_values.cart_value_added - cart_values.cart_value_removed, 0), 0)
        as numeric(38, 2)
    ) as cart_value_net,
    cast(coalesce(cart_values.units_removed_not_in_cart, 0) as bigint) as units_removed_not_in_cart,
    coalesce(cart_values.unpriced_cart_events, 0) as unpriced_cart_events,
    sessions._extracted_at
from sessions
left join cart_values on sessions.session_id = cart_values.session_id
