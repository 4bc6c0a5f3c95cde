{#- SQL whose spelling differs between engines (dispatched: PostgreSQL's here, Spark's in
    macros/spark.sql). -#}

{% macro type_text() -%}
    {#- Text of any length. -#}
    {{- return(adapter.dispatch('type_text', 'webshop')()) -}}
{%- endmacro %}

{% macro default__type_text() -%}text{%- endmacro %}


{% macro type_timestamptz() -%}
    {#- A moment in time (shown in the session's time zone, UTC on both engines). -#}
    {{- return(adapter.dispatch('type_timestamptz', 'webshop')()) -}}
{%- endmacro %}

{% macro default__type_timestamptz() -%}timestamptz{%- endmacro %}


{% macro matches(text_expression, pattern) -%}
    {#- The text matches the regular expression `pattern` (a POSIX one: bracket classes such
        as [:space:] and [:digit:] are read the same on every engine). -#}
    {{- return(adapter.dispatch('matches', 'webshop')(text_expression, pattern)) -}}
{%- endmacro %}

{% macro default__matches(text_expression, pattern) -%}
    {{ text_expression }} ~ '{{ pattern | replace("'", "''") }}'
{%- endmacro %}


{% macro minus_infinity(type='timestamptz') -%}
    {#- A moment (or, with type='date', a day) before every other. -#}
    {{- return(adapter.dispatch('minus_infinity', 'webshop')(type)) -}}
{%- endmacro %}

{% macro default__minus_infinity(type='timestamptz') -%}
    cast('-infinity' as {{ type }})
{%- endmacro %}


{% macro utc_clock(moment) -%}
    {#- A moment (timestamptz) as the date and time a clock in UTC shows (timestamp). -#}
    {{- return(adapter.dispatch('utc_clock', 'webshop')(moment)) -}}
{%- endmacro %}

{% macro default__utc_clock(moment) -%}
    ({{ moment }} at time zone 'UTC')
{%- endmacro %}


{% macro utc_moment(clock) -%}
    {#- The moment (timestamptz) when a clock in UTC shows `clock` (a timestamp or a date). -#}
    {{- return(adapter.dispatch('utc_moment', 'webshop')(clock)) -}}
{%- endmacro %}

{% macro default__utc_moment(clock) -%}
    (cast({{ clock }} as timestamp) at time zone 'UTC')
{%- endmacro %}


{% macro seconds_between(start, stop) -%}
    {#- Seconds from one moment to another, fractions included (numeric). -#}
    {{- return(adapter.dispatch('seconds_between', 'webshop')(start, stop)) -}}
{%- endmacro %}

{% macro default__seconds_between(start, stop) -%}
    extract(epoch from {{ stop }} - {{ start }})
{%- endmacro %}


{% macro cte_materialized(materialized=true) -%}
    {#- PostgreSQL's hint for a CTE computed once (`materialized`) or inlined into every
        reference (`not materialized`); engines without it plan CTEs themselves. -#}
    {{- return(adapter.dispatch('cte_materialized', 'webshop')(materialized)) -}}
{%- endmacro %}

{% macro default__cte_materialized(materialized=true) -%}
    {{ 'materialized' if materialized else 'not materialized' }}
{%- endmacro %}


{% macro lateral_fence() -%}
    {#- Ends a lateral subquery that must stay a lookup per outer row: PostgreSQL's
        `offset 0` keeps the planner from flattening it into a join over the whole table.
        Spark decorrelates a lateral subquery into a join, which is what it should do; an
        OFFSET there would make it join every outer moment to every row first. -#}
    {{- return(adapter.dispatch('lateral_fence', 'webshop')()) -}}
{%- endmacro %}

{% macro default__lateral_fence() -%}
    offset 0
{%- endmacro %}


{% macro weeks_between(first_week, last_week, alias, column) -%}
    {#- FROM-clause item: one row per week start from `first_week` to `last_week` (both
        week starts), as `alias`.`column`. -#}
    {{- return(adapter.dispatch('weeks_between', 'webshop')(first_week, last_week, alias, column)) -}}
{%- endmacro %}

{% macro default__weeks_between(first_week, last_week, alias, column) -%}
    lateral generate_series(
        {{ first_week }},
        {{ last_week }},
        interval '7 days'
    ) as {{ alias }} ({{ column }})
{%- endmacro %}


{% macro lateral_value(expression, alias, column) -%}
    {#- A lateral join that computes `expression` once per row, as `alias`.`column`, for
        expressions read more than once (a CASE repeats an expression in every branch that
        names it). PostgreSQL: an unnest of a one-element array, which the planner neither
        flattens nor keeps out of parallel workers (a fenced subquery is both). -#}
    {{- return(adapter.dispatch('lateral_value', 'webshop')(expression, alias, column)) -}}
{%- endmacro %}

{% macro default__lateral_value(expression, alias, column) -%}
    cross join lateral unnest(array[{{ expression }}]) as {{ alias }} ({{ column }})
{%- endmacro %}


{% macro prefer_parallel_workers() -%}
    {#- Pre-hook of a model that parses every row it reads: PostgreSQL prices a function
        call like an operator and so judges passing millions of rows up from parallel
        workers dearer than the parse itself, and scans on one core. A tenth of the
        default parallel_tuple_cost lets the parse run on every core; a night's batch is
        read through raw's index on the batch moment, a few pages that PostgreSQL would
        not share out (min_parallel_index_scan_size), though parsing its 40k events takes
        0.3 s on one core and 0.17 s on three. `set local`: this model's transaction
        only. -#}
    {{- return(adapter.dispatch('prefer_parallel_workers', 'webshop')()) -}}
{%- endmacro %}

{% macro default__prefer_parallel_workers() -%}
    set local parallel_tuple_cost = 0.01;
    set local parallel_setup_cost = 10;
    set local min_parallel_index_scan_size = 0
{%- endmacro %}


{% macro prefer_parallel_sort() -%}
    {#- Pre-hook of a model built whole that reads most of a large table in the order of an
        index that the table's rows are not stored in (int_events__sessionized: the staged
        events, stored in event-id order, read per customer): PostgreSQL follows the index
        on one core, jumping between heap pages (3.1M page reads for 7.9M rows), where a
        parallel scan and sort takes less (28 s against 20 s at 11M events). A build whole
        only: its incremental runs look a few customers up through that index. `set
        local`: this model's transaction only. -#}
    {{- return(adapter.dispatch('prefer_parallel_sort', 'webshop')()) -}}
{%- endmacro %}

{% macro default__prefer_parallel_sort() -%}
    {%- if not is_incremental() -%}
        set local enable_indexscan = off;
        set local enable_bitmapscan = off
    {%- endif -%}
{%- endmacro %}


{% macro prefer_sorted_aggregation() -%}
    {#- Pre-hook of a model that groups whole version tables by their (key, updated_at)
        index into almost as many groups as rows (mart_data_quality's ties): PostgreSQL
        prices hashing 200k rows into 200k groups below reading them in index order, and
        hashing them takes three times as long (115 ms against 35 ms for the product
        versions at 245 days). `set local`: this model's transaction only. -#}
    {{- return(adapter.dispatch('prefer_sorted_aggregation', 'webshop')()) -}}
{%- endmacro %}

{% macro default__prefer_sorted_aggregation() -%}
    set local enable_hashagg = off
{%- endmacro %}
