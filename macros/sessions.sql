{% macro join_session_events(sessions) %}
    {#- Joins each session of `sessions` (customer_id, session_start, session_end) to its
        events in fct_events, as `events`: a lateral lookup per session through the
        (customer_id, event_at) index, for marts that read the events of a few sessions
        (`offset 0` keeps PostgreSQL from flattening it into a join over every event). -#}
    cross join lateral (
        select session_events.*
        from {{ ref('fct_events') }} as session_events
        where
            session_events.customer_id = {{ sessions }}.customer_id
            and session_events.event_at
            between {{ sessions }}.session_start and {{ sessions }}.session_end
        {{ lateral_fence() }}
    ) as events
{% endmacro %}


{% macro sessions_ending_from(outer, since, alias, keep_outer=false) %}
    {{- adapter.dispatch('sessions_ending_from', 'webshop')(outer, since, alias, keep_outer) -}}
{% endmacro %}


{% macro default__sessions_ending_from(outer, since, alias, keep_outer=false) %}
    {#- Joins each row of `outer` (with customer_id) to that customer's sessions in
        fct_sessions ending at or after `since`, as `alias`: the sessions starting from it
        (through the (customer_id, session_start) index) and the one session before it if
        it ends after it (a customer's sessions do not overlap), so the cost is the
        sessions read, not the customer's history. `keep_outer`: outer rows without such a
        session are kept (a left join). -#}
    {{ 'left join' if keep_outer else 'cross join' }} lateral (
        select from_since.*
        from (
            select candidate.*
            from {{ ref('fct_sessions') }} as candidate
            where
                candidate.customer_id = {{ outer }}.customer_id
                and candidate.session_start >= {{ since }}
            {{ lateral_fence() }}
        ) as from_since
        union all
        select crossing.*
        from (
            select candidate.*
            from {{ ref('fct_sessions') }} as candidate
            where
                candidate.customer_id = {{ outer }}.customer_id
                and candidate.session_start < {{ since }}
            order by candidate.session_start desc
            limit 1
        ) as crossing
        where crossing.session_end >= {{ since }}
    ) as {{ alias }}{{ ' on true' if keep_outer else '' }}
{% endmacro %}


{% macro session_gap() -%}
    {#- The longest pause within a session (var session_gap_minutes), as an interval. -#}
    interval '{{ var('session_gap_minutes') }} minutes'
{%- endmacro %}


{% macro event_touches(events, superseded) %}
    {#- Where the events changed since this incremental model last ran, as (customer_id,
        product_id, event_at): every logged-in event in force that it has not read (new,
        late, or delivered in a batch stamped before ones already read) from `events`, and
        every position of an event that is no longer in force there (an earlier delivery of
        its id with other content won) from `superseded`. -#}
    select
        customer_id,
        product_id,
        event_at
    from {{ events }} as events_in_force
    where {{ is_unread('_extracted_at', 'event') }} and customer_id is not null
    union all
    select
        customer_id,
        product_id,
        event_at
    from {{ superseded }} as superseded_events
    where {{ is_unread('_in_force_extracted_at', 'event') }} and customer_id is not null
{% endmacro %}


{% macro customer_restarts(touches, sessionized) %}
    {{- adapter.dispatch('customer_restarts', 'webshop')(touches, sessionized) -}}
{% endmacro %}


{% macro first_touches(touches) %}
    {#- Per customer in `touches` (customer_id, event_at): its first touch (first_touch_at). -#}
    select
        customer_id,
        min(event_at) as first_touch_at
    from {{ touches }}
    group by customer_id
{% endmacro %}


{% macro default__customer_restarts(touches, sessionized) %}
    {#- Per customer in `touches` (the name of a relation or CTE with customer_id and
        event_at), where its sessions must be recomputed from (restart_at): the
        start of the first session in `sessionized` (customer_id, event_at, session_start)
        holding an event less than one session gap before the customer's first touch (a
        touch can join, split or end only such a session), else the touch itself. Always a
        session boundary, looked up one customer at a time through (customer_id, event_at). -#}
    select
        touched.customer_id,
        least(touched.first_touch_at, joinable.session_start) as restart_at
    from ({{ first_touches(touches) }}) as touched
    cross join lateral (
        select min(sessionized.session_start) as session_start
        from {{ sessionized }} as sessionized
        where
            sessionized.customer_id = touched.customer_id
            and sessionized.event_at >= touched.first_touch_at - {{ session_gap() }}
    ) as joinable
{% endmacro %}


{% macro page_product_id(page_url) %}
    {#- The product of a product page: the id after the URL's first /product/, up to the
        next /, ? or # (string functions: a regex with a capture group costs 5x more per
        row); null when that is not a whole number. -#}
    {%- set text = "split_part(split_part(split_part(split_part(" ~ page_url
        ~ ", '/product/', 2), '/', 1), '?', 1), '#', 1)" %}
    case
        when {{ page_url }} like '%/product/%' and {{ matches(text, '^[1-9][0-9]{0,17}$') }}
            then cast({{ text }} as bigint)
    end
{% endmacro %}


{% macro funnel_order_restarts() %}
    {#- fct_funnel_orders' restart points in an incremental run, per customer (customer_id,
        restart_at, a session start or the moment of an order): its sessions changed from
        the restart of fct_sessions (events new, late or superseded), and a changed order
        (a version or line unread) can leave or join any session from the first one that
        can hold its placement (ending at most two seconds before it), for every customer
        any of its versions names. Orders re-matched to other sessions by the events fall
        within the first restart (fct_orders' rule). -#}
    with

    touches as (
        {{ event_touches(ref('int_events__sessionized'), ref('int_events__superseded')) }}
    ),

    touched_orders as (
        {{ touched_orders(ref('int_orders__batches')) }}
    ),

    -- Every customer a version of a changed order names, from the order's earliest
    -- placement (placed_at is the minimum over its versions).
    placements as (
        select distinct
            order_versions.customer_id,
            min(order_versions.placed_at) over (partition by order_versions.order_id)
                as placed_at
        from touched_orders
        {{ lateral_rows(
            relation=ref('stg_webshop__orders'), key='order_id', outer='touched_orders',
            alias='order_versions'
        ) }}
    ),

    restarts as (
        {{ customer_restarts('touches', ref('int_events__sessionized')) }}
        union all
        select
            placements.customer_id,
            coalesce(min(holders.session_start), placements.placed_at) as restart_at
        from placements
        {{ sessions_ending_from(
            'placements', "placements.placed_at - interval '2 seconds'", 'holders',
            keep_outer=true
        ) }}
        group by placements.customer_id, placements.placed_at
    )

    select
        customer_id,
        min(restart_at) as restart_at
    from restarts
    group by customer_id
{% endmacro %}


{% macro engagement_order_months(orders, calendar) %}
    {#- Orders per customer and month of placement (`orders`: fct_orders' customer_id,
        placed_date, net_amount, cancelled_at; `calendar`: dim_date): cancelled orders
        count as placed but bring no revenue. mart_customer_monthly_engagement's order
        side, and what its incremental run compares the mart with. -#}
    select
        placed_orders.customer_id,
        calendar_days.month_start_date as activity_month,
        count(*) as orders,
        count(*) filter (where placed_orders.cancelled_at is not null) as orders_cancelled,
        coalesce(sum(placed_orders.net_amount) filter (where placed_orders.cancelled_at is null), 0)
            as revenue
    from {{ orders }} as placed_orders
    inner join {{ calendar }} as calendar_days
        on placed_orders.placed_date = calendar_days.date_day
    group by placed_orders.customer_id, calendar_days.month_start_date
{% endmacro %}


{% macro restart_relation() -%}
    {{- return(adapter.dispatch('restart_relation', 'webshop')()) -}}
{%- endmacro %}


{% macro default__restart_relation() -%}
    {#- Where a model's pre-hook keeps what its incremental run recomputes (keep_as_table),
        for the model to read: a temporary table, `<model>__restart`. -#}
    {{ adapter.quote(this.identifier ~ '__restart') }}
{%- endmacro %}


{% macro engagement_restarts() %}
    {#- Pre-hook of mart_customer_monthly_engagement in an incremental run: the customers to
        recompute whole, kept in a temporary table (restart_relation) that the
        model reads, and their rows deleted. Computed once, from the mart as it was (the
        model must not compare with a mart the delete has emptied): customers with events
        it has not read (new, late or superseded: their months in int_customer_months
        change), with a dimension version it has not read (a new customer, or a first
        version that moves the cohort month), and whose orders per month in fct_orders
        differ from the mart's (an order new, changed, cancelled, or moved to another
        customer: both customers differ). Orders per month are compared from the month of
        the earliest placement among the orders with a version or line the mart has not
        read, not over the whole history: fct_orders takes an order's customer, placement,
        amount and cancellation from its versions and lines alone, so no other order
        changed, and its placement is the earliest of its versions, so before tonight it
        was placed in that month or later. -#}
    {%- if is_incremental() -%}
        {%- set restart = restart_relation() -%}
        {%- set restarted_customers -%}
        with

        touches as (
            {{ event_touches(ref('fct_events'), ref('int_events__superseded')) | indent(8) }}
        ),

        compared_from as (
            select
                cast({{ dbt.date_trunc('month', 'min(changed_orders.placed_date)') }} as date)
                    as activity_month
            from {{ ref('fct_orders') }} as changed_orders
            where changed_orders.order_id in (
                {{ touched_orders(ref('int_orders__batches')) | indent(12) }}
            )
        ),

        order_months as (
            {{ engagement_order_months(
                '(select * from ' ~ ref('fct_orders') ~ ' where placed_date >= ('
                ~ 'select compared_from.activity_month from compared_from))',
                ref('dim_date')
            ) | indent(8) }}
        ),

        shown_order_months as (
            select customer_id, activity_month, orders, orders_cancelled, revenue
            from {{ this }}
            where
                orders > 0
                and activity_month >= (select compared_from.activity_month from compared_from)
        )

        select touches.customer_id from touches
        union
        select customer_versions.customer_id
        from {{ ref('dim_customer') }} as customer_versions
        where {{ is_unread('customer_versions._extracted_at', 'customer') }}
        union
        select coalesce(order_months.customer_id, shown_order_months.customer_id)
        from order_months
        full outer join shown_order_months
            on
                order_months.customer_id = shown_order_months.customer_id
                and order_months.activity_month = shown_order_months.activity_month
        where
            (order_months.orders, order_months.orders_cancelled, cast(order_months.revenue as numeric(38, 2)))
            is distinct from
            (shown_order_months.orders, shown_order_months.orders_cancelled, shown_order_months.revenue)
        {%- endset %}
        {{ keep_as_table(restart, restarted_customers) }}
        {{ delete_rows(
            'existing.customer_id = restarted.customer_id',
            using='select customer_id from ' ~ restart, using_alias='restarted'
        ) }}
    {%- endif -%}
{% endmacro %}


{% macro funnel_restarts() %}
    {#- Pre-hook of mart_product_funnel_weekly in an incremental run: funnel_restart_week()
        worked out once, kept in a temporary table (restart_relation) that the model reads,
        and the mart's rows from that week on deleted (a week can lose every session: an
        event whose delivery in force changed moves its session). In a SELECT, so that
        PostgreSQL reads fct_sessions on parallel workers (it plans a DELETE's subqueries on
        one core), and once instead of in the DELETE and again in the model. -#}
    {%- if is_incremental() -%}
        {%- set restart = restart_relation() -%}
        {{ keep_as_table(restart, funnel_restart_week()) }}
        {{ delete_rows_from('session_week', 'select restart.restart_week from ' ~ restart ~ ' as restart') }}
    {%- endif -%}
{% endmacro %}


{% macro funnel_restart_week() %}
    {#- SQL for one date: the ISO week (Monday, UTC) from which the weekly funnel is
        recomputed, null when nothing changed: that of the earliest of the customers'
        session restarts (changed events) and of the sessions, of any customer, that can
        hold a changed order's placement (ending at most two seconds before the earliest;
        through fct_sessions' session_end index), whoever the order belonged to before. -#}
    with

    touches as (
        {{ event_touches(ref('int_events__sessionized'), ref('int_events__superseded')) }}
    ),

    session_restarts as (
        {{ customer_restarts('touches', ref('int_events__sessionized')) }}
    ),

    placed as (
        select min(placed_at) as placed_at
        from {{ ref('int_orders__milestones') }}
        where order_id in ({{ touched_orders(ref('int_orders__batches')) }})
    ),

    holders as (
        select min(session_start) as session_start
        from {{ ref('fct_sessions') }}
        where session_end >= (select placed.placed_at from placed) - interval '2 seconds'
    )

    select
        cast({{ dbt.date_trunc('week', utc_clock("least(
            (select min(session_restarts.restart_at) from session_restarts),
            (select holders.session_start from holders),
            (select placed.placed_at from placed)
        )")) }} as date) as restart_week
{% endmacro %}
