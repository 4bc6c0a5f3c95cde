{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        unique_key='customer_id',
        replace_from_column='session_start',
        indexes=[{'columns': ['customer_id', 'session_start']}],
        pre_hook="{{ replace_from_restarts(funnel_order_restarts()) }}",
    )
}}
-- depends_on: {{ ref('int_events__sessionized') }}
-- depends_on: {{ ref('int_events__superseded') }}
-- depends_on: {{ ref('int_orders__batches') }}
-- depends_on: {{ ref('stg_webshop__orders') }}

-- The product funnel's order step, for both funnel marts and the semantic layer: per
-- session with an order and product it added to the cart, the first order placed at or
-- after the product's first add that holds the product, and the first order placed at or
-- after the session's first cart add after a product view. Its other steps are in
-- fct_sessions (per session) and int_session_products (per session and product).
-- Incremental per customer, like fct_sessions: from the first session its changed events
-- or changed orders can reach (funnel_order_restarts), which the pre-hook keeps for the
-- model and whose rows it deletes first (a session can lose its last order).
with

{% if is_incremental() -%}
restart as (
    select
        customer_id,
        restart_at
    from {{ restart_relation() }}
),

customer_sessions as (
    select restarted.*
    from restart
    {{ lateral_rows(
        relation=ref('fct_sessions'), key='customer_id', column='session_start',
        since='restart.restart_at', outer='restart', alias='restarted'
    ) }}
),
{%- else %}

customer_sessions as (
    select * from {{ ref('fct_sessions') }}
),
{%- endif %}

orders as (
    select
        order_id,
        session_id,
        placed_at
    from {{ ref('fct_orders') }}
    where
        session_id is not null
        {%- if is_incremental() %}
        and session_id in (select customer_sessions.session_id from customer_sessions)
        {%- endif %}
),

order_lines as (
    select
        order_id,
        product_id
    from {{ ref('fct_order_lines') }}
    where order_id in (select orders.order_id from orders)
),

sessions as (
    select
        session_id,
        customer_id,
        session_start,
        first_cart_add_after_view_at
    from customer_sessions
    where session_id in (select orders.session_id from orders)
),

cart_adds as (
    select
        session_products.session_id,
        session_products.product_id,
        session_products.first_add_at
    {%- if is_incremental() %}
    -- one lookup per session in int_session_products' (session_id, product_id) index,
    -- whatever PostgreSQL estimates the sessions to be
    from sessions
    {{ lateral_rows(
        relation=ref('int_session_products'), key='session_id', outer='sessions',
        alias='session_products', condition='candidate.first_add_at is not null'
    ) }}
    {%- else %}
    from {{ ref('int_session_products') }} as session_products
    inner join sessions on session_products.session_id = sessions.session_id
    where session_products.first_add_at is not null
    {%- endif %}
),

-- The session's step: the first order at or after its first cart add after a product view.
session_orders as (
    select
        sessions.session_id,
        min(orders.placed_at) as first_order_after_add_at
    from sessions
    inner join orders on sessions.session_id = orders.session_id
    where orders.placed_at >= sessions.first_cart_add_after_view_at
    group by sessions.session_id
),

-- The product's step: the first order holding it at or after its first add.
product_orders as (
    select
        cart_adds.session_id,
        cart_adds.product_id,
        min(orders.placed_at) as first_order_at
    from cart_adds
    inner join orders on cart_adds.session_id = orders.session_id
    inner join order_lines
        on
            orders.order_id = order_lines.order_id
            and cart_adds.product_id = order_lines.product_id
    where orders.placed_at >= cart_adds.first_add_at
    group by cart_adds.session_id, cart_adds.product_id
)

select
    cart_adds.session_id,
    sessions.customer_id,
    sessions.session_start,
    cart_adds.product_id,
    cart_adds.first_add_at,
    product_orders.first_order_at,
    sessions.first_cart_add_after_view_at as session_first_add_after_view_at,
    session_orders.first_order_after_add_at as session_first_order_at
from cart_adds
inner join sessions on cart_adds.session_id = sessions.session_id
left join product_orders
    on
        cart_adds.session_id = product_orders.session_id
        and cart_adds.product_id = product_orders.product_id
left join session_orders on cart_adds.session_id = session_orders.session_id
where
    product_orders.first_order_at is not null
    or session_orders.first_order_after_add_at is not null
