{{ config(pre_hook="{{ prefer_sorted_aggregation() }}") }}

-- Every anomaly the warehouse met, counted per day, table and rule: raw rows quarantined
-- or flagged by staging (by the UTC day of their batch), event deliveries not in force,
-- tied versions, and facts that point at an unknown member or break a business rule (by
-- the UTC day of the business event). Nothing here stops a build; this is where a
-- business person looks.
{%- set staging_flags = {
    'customer': (
        ref('stg_webshop__customers'),
        ['has_invalid_email', 'has_invalid_country_code', 'has_version_after_closing'],
    ),
    'product': (ref('stg_webshop__products'), ['has_unknown_stock', 'has_negative_stock', 'has_unknown_active_status']),
    'voucher': (ref('stg_webshop__vouchers'), ['has_unknown_discount_type', 'has_invalid_discount_value', 'has_invalid_validity']),
} %}
{%- set versions = {
    'customer': (ref('stg_webshop__customers'), 'customer_id'),
    'product': (ref('stg_webshop__products'), 'product_id'),
    'voucher': (ref('stg_webshop__vouchers'), 'voucher_id'),
    'orders': (ref('stg_webshop__orders'), 'order_id'),
    'order_line': (ref('stg_webshop__order_lines'), 'order_line_id'),
} %}
{%- set batch_date = "cast(" ~ utc_clock('_extracted_at') ~ " as date)" %}

with

quarantined as (
    select
        {{ batch_date }} as check_date,
        source_table as table_name,
        reject_reason as rule_name,
        'quarantined' as outcome,
        count(*) as affected_rows
    from {{ ref('stg_webshop__quarantine') }}
    group by check_date, table_name, rule_name
),

superseded_events as (
    select
        {{ batch_date }} as check_date,
        'event' as table_name,
        'event id delivered again with other content' as rule_name,
        'not in force' as outcome,
        count(*) as affected_rows
    from {{ ref('int_events__superseded') }}
    group by check_date
),

unknown_event_types as (
    select
        {{ batch_date }} as check_date,
        'event' as table_name,
        'undocumented event type' as rule_name,
        'flagged' as outcome,
        count(*) as affected_rows
    from {{ ref('stg_webshop__events') }}
    where not is_known_event_type
    group by check_date
),

{% for table, (relation, flags) in staging_flags.items() %}
{{ table }}_flags as (
    {%- for flag in flags %}
    select
        {{ batch_date }} as check_date,
        '{{ table }}' as table_name,
        '{{ flag }}' as rule_name,
        'flagged' as outcome,
        count(*) as affected_rows
    from {{ relation }}
    where {{ flag }}
    group by check_date
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),
{% endfor %}

{% for table, (relation, key) in versions.items() %}
{{ table }}_ties as (
    select
        cast({{ utc_clock('updated_at') }} as date) as check_date,
        '{{ table }}' as table_name,
        'two versions with the same updated_at (the later delivered is in force)' as rule_name,
        'not in force' as outcome,
        sum(versions - 1) as affected_rows
    from (
        select
            {{ key }},
            updated_at,
            count(*) as versions
        from {{ relation }}
        group by {{ key }}, updated_at
        having count(*) > 1
    ) as tied
    group by check_date
),
{% endfor %}

orders as (
    select * from {{ ref('fct_orders') }}
),

order_checks as (
    select
        checks.check_date,
        'fct_orders' as table_name,
        checks.rule_name,
        checks.outcome,
        count(*) as affected_rows
    from (
        select
            placed_date as check_date,
            'customer unknown at placement' as rule_name,
            'unknown member' as outcome
        from orders
        where customer_sk = '-1'
        union all
        select
            placed_date as check_date,
            'voucher unknown at placement' as rule_name,
            'unknown member' as outcome
        from orders
        where voucher_sk = '-1'
        union all
        select
            placed_date as check_date,
            'status moved backwards' as rule_name,
            'flagged' as outcome
        from orders
        where has_status_regression
        union all
        select
            placed_date as check_date,
            'delivered before shipped' as rule_name,
            'flagged' as outcome
        from orders
        where delivered_at < shipped_at
        union all
        select
            placed_date as check_date,
            'cancelled after shipping' as rule_name,
            'flagged' as outcome
        from orders
        where cancelled_at is not null and shipped_at is not null
    ) as checks
    group by checks.check_date, checks.rule_name, checks.outcome
),

line_checks as (
    select
        cast({{ utc_clock('coalesce(order_lines.placed_at, latest.created_at)') }} as date)
            as check_date,
        'fct_order_lines' as table_name,
        case
            when not order_lines.is_order_known then 'order unknown'
            else 'product unknown at placement'
        end as rule_name,
        'unknown member' as outcome,
        count(*) as affected_rows
    from {{ ref('fct_order_lines') }} as order_lines
    inner join {{ ref('int_order_lines__latest') }} as latest
        on order_lines.order_line_id = latest.order_line_id
    where not order_lines.is_order_known or order_lines.product_sk = '-1'
    group by check_date, rule_name
),

known_customers as (
    select distinct customer_id from {{ ref('dim_customer') }}
),

-- Customer ids with sessions but no customer (from the customer-months, far fewer rows
-- than the sessions), then their sessions through the (customer_id, session_start) index.
unknown_customers as (
    select distinct customer_months.customer_id
    from {{ ref('int_customer_months') }} as customer_months
    where not exists (
        select 1 from known_customers
        where known_customers.customer_id = customer_months.customer_id
    )
),

session_checks as (
    select
        cast({{ utc_clock('checks.session_start') }} as date) as check_date,
        'fct_sessions' as table_name,
        checks.rule_name,
        checks.outcome,
        count(*) as affected_rows
    from (
        select
            unknown_sessions.session_start,
            'customer unknown' as rule_name,
            'unknown member' as outcome
        from unknown_customers
        {{ lateral_rows(
            relation=ref('fct_sessions'), key='customer_id', outer='unknown_customers',
            alias='unknown_sessions'
        ) }}
        union all
        select
            session_start,
            'cart event of a product unknown at that moment (unpriced)' as rule_name,
            'flagged' as outcome
        from {{ ref('fct_sessions') }}
        where unpriced_cart_events > 0
        union all
        select
            session_start,
            'removed more units than the cart held' as rule_name,
            'flagged' as outcome
        from {{ ref('fct_sessions') }}
        where units_removed_not_in_cart > 0
    ) as checks
    group by check_date, checks.rule_name, checks.outcome
),

unioned as (
    select * from quarantined
    union all
    select * from superseded_events
    union all
    select * from unknown_event_types
    {%- for table in staging_flags %}
    union all
    select * from {{ table }}_flags
    {%- endfor %}
    {%- for table in versions %}
    union all
    select * from {{ table }}_ties
    {%- endfor %}
    union all
    select * from order_checks
    union all
    select * from line_checks
    union all
    select * from session_checks
)

select
    check_date,
    table_name,
    rule_name,
    outcome,
    cast(affected_rows as bigint) as affected_rows
from unioned
