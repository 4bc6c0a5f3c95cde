-- Which products' stock changed between two given weeks? Compares the stock at the end
-- of week `from_week` with the end of week `to_week` (vars, ISO week Mondays such as
-- 2026-11-02; by default the two latest weeks). Run e.g.:
--   dbt compile --select inventory_stock_changed_between_weeks
--       --vars '{from_week: "2026-11-02", to_week: "2026-11-16"}'
{%- set from_week = var('from_week', none) %}
{%- set to_week = var('to_week', none) %}

with

inventory as (
    select * from {{ ref('mart_product_inventory_weekly') }}
),

latest as (
    select max(week_start) as week_start from inventory
),

chosen as (
    select
        {% if from_week %}cast('{{ from_week }}' as date){% else %}latest.week_start - 7{% endif %}
            as from_week,
        {% if to_week %}cast('{{ to_week }}' as date){% else %}latest.week_start{% endif %}
            as to_week
    from latest
),

compared as (
    select
        later.product_id,
        later.sku,
        later.product_name,
        later.category,
        chosen.from_week,
        chosen.to_week,
        earlier.stock_at_week_end as stock_at_from_week_end,
        later.stock_at_week_end as stock_at_to_week_end
    from chosen
    inner join inventory as later on chosen.to_week = later.week_start
    left join inventory as earlier
        on
            chosen.from_week = earlier.week_start
            and later.product_id = earlier.product_id
)

select
    product_id,
    sku,
    product_name,
    category,
    from_week,
    to_week,
    stock_at_from_week_end,
    stock_at_to_week_end,
    stock_at_to_week_end - stock_at_from_week_end as stock_change
from compared
where stock_at_from_week_end is distinct from stock_at_to_week_end
order by abs(stock_at_to_week_end - stock_at_from_week_end) desc nulls first, product_id asc
