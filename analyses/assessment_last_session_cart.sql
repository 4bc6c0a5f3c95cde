-- Assessment question 2: what was in the cart in each customer's last session, when that
-- session ended in an order, with the customer's email?
with

last_session_carts as (
    select * from {{ ref('mart_last_session_cart') }}
)

select
    customer_id,
    email,
    session_id,
    session_start,
    session_end,
    cart_value_added,
    cart_value_net,
    orders_placed,
    order_value
from last_session_carts
order by session_end desc
