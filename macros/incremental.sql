{#- What an incremental model has read: the batch ledger.

    Raw batches can arrive in any order (an EL re-run of a missed night is stamped before
    nights already loaded; a misconfigured clock stamps a batch in the future), so "newer
    than the newest batch seen" loses data. Instead every incremental model keeps, in the
    ledger table `<target schema>.batch_ledger`, the batches it has read: per raw table and
    batch moment, the number of raw rows. base_webshop__batches lists the batches in raw
    when the run starts; a model may read what all its inputs have read (for staging: the
    batches in that list) and reads the batches among those that its own ledger lacks or
    counts differently. Its post-hook records them in the same transaction as its rows, so
    a model that fails or is killed records nothing and reads the same batches next time.
    A full refresh reads everything and records the same ledger, so an incremental run and
    a full refresh end in the same state. -#}

{% macro batch_ledger() -%}
    {{ adapter.quote(target.schema) }}.batch_ledger
{%- endmacro %}


{% macro ledger_of(model_names) %}
    {{- return(adapter.dispatch('ledger_of', 'webshop')(model_names)) -}}
{% endmacro %}


{% macro default__ledger_of(model_names) -%}
    {#- The ledger rows of the models `model_names`, as a subquery. -#}
    (
        select * from {{ batch_ledger() }}
        where model_name in ('{{ model_names | join("', '") }}')
    )
{%- endmacro %}


{% macro ledger_exists() %}
    {{- return(adapter.dispatch('ledger_exists', 'webshop')()) -}}
{% endmacro %}


{% macro default__ledger_exists() %}
    {{- return(adapter.get_relation(target.database, target.schema, 'batch_ledger') is not none) -}}
{% endmacro %}


{% macro moment_from_epoch(seconds) %}
    {{- return(adapter.dispatch('moment_from_epoch', 'webshop')(seconds)) -}}
{% endmacro %}


{% macro default__moment_from_epoch(seconds) -%}
    {#- A timestamptz literal from its epoch() text. -#}
    to_timestamp({{ seconds }})
{%- endmacro %}


{% macro create_batch_ledger() %}
    {{- return(adapter.dispatch('create_batch_ledger', 'webshop')()) -}}
{% endmacro %}


{% macro default__create_batch_ledger() %}
    {#- on-run-start: the ledger table (see above). -#}
    create table if not exists {{ batch_ledger() }} (
        model_name text not null,
        source_table text not null,
        extracted_at timestamptz not null,
        raw_rows bigint not null,
        -- when the model read the batch (the nightly reconciliation checks the latest ones)
        recorded_at timestamptz not null default now(),
        primary key (model_name, source_table, extracted_at)
    );
    -- A ledger made before recorded_at gets it; altered only then (an ALTER TABLE waits
    -- for every reader and writer of the ledger).
    do $$
    begin
        if not exists (
            select from pg_attribute
            where
                attrelid = '{{ batch_ledger() }}'::regclass
                and attname = 'recorded_at'
                and not attisdropped
        ) then
            alter table {{ batch_ledger() }}
            add column recorded_at timestamptz not null default now();
        end if;
    end
    $$
{% endmacro %}


{% macro ledger_inputs(node) %}
    {#- The models whose ledgers bound what `node` can read: its incremental parents and
        the batch catalogue, looked up through views and ephemeral models. -#}
    {%- set inputs = [] -%}
    {%- for parent_id in node.depends_on.nodes -%}
        {%- set parent = graph.nodes.get(parent_id) -%}
        {%- if parent is none or parent.resource_type != 'model' -%}
        {%- elif parent.config.materialized == 'incremental' or parent.config.meta.get('is_batch_catalogue') -%}
            {%- do inputs.append(parent.name) -%}
        {%- elif parent.config.materialized in ('view', 'ephemeral') -%}
            {%- do inputs.extend(ledger_inputs(parent)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(inputs | unique | list) }}
{% endmacro %}


{% macro read_source_tables(node) %}
    {#- The raw tables `node` reads, itself or through the models it reads (the batch
        catalogue aside, which lists every table's batches). -#}
    {%- set known = graph.setdefault('webshop_read_source_tables', {}) -%}
    {%- set key = invocation_id ~ ' ' ~ node.unique_id -%}
    {%- if key not in known -%}
        {%- set tables = node.sources | map(attribute=1) | list -%}
        {%- for parent_id in node.depends_on.nodes -%}
            {%- set parent = graph.nodes.get(parent_id) -%}
            {%- if parent is not none and parent.resource_type == 'model'
                and not parent.config.meta.get('is_batch_catalogue') -%}
                {%- do tables.extend(read_source_tables(parent)) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do known.update({key: tables | unique | list}) -%}
    {%- endif -%}
    {{ return(known[key]) }}
{% endmacro %}


{% macro readable_batches(node) %}
    {#- SQL: the batches (source_table, extracted_at, raw_rows) every input of `node` has
        read, of the raw tables it reads (read_source_tables). -#}
    {%- set inputs = ledger_inputs(node) -%}
    {%- set tables = read_source_tables(node) -%}
    select
        inputs.source_table,
        inputs.extracted_at,
        min(inputs.raw_rows) as raw_rows
    from {{ ledger_of(inputs) }} as inputs
    inner join (
        select
            source_table,
            count(distinct model_name) as models
        from {{ ledger_of(inputs) }} as carrying
        group by source_table
    ) as carriers on inputs.source_table = carriers.source_table
    where
        true
        {%- if tables %}
        and inputs.source_table in ('{{ tables | join("', '") }}')
        {%- endif %}
    group by inputs.source_table, inputs.extracted_at, carriers.models
    having count(*) = carriers.models
{% endmacro %}


{% macro is_unread(column, source_table) %}
    {#- True for rows whose batch moment `column` (a batch of raw table `source_table`) this
        incremental model has not read yet. The moments are looked up when the model runs
        (once per raw table: the ledger does not change before the model's post-hook) and
        inlined as literals, so the planner reads the few rows through an index. A unit
        test's `this` is a CTE of fixture rows with no ledger: there, rows at or after its
        newest batch moment count as unread. -#}
    {%- if not execute -%}
        {{ return('false') }}
    {%- elif (this | string).startswith('__dbt__cte__') -%}
        {{ return(column ~ ' >= (select max(_extracted_at) from ' ~ this ~ ')') }}
    {%- endif -%}
    {%- if not ledger_exists() -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set looked_up = graph.setdefault('webshop_unread_moments', {}) -%}
    {%- set key = invocation_id ~ ' ' ~ model.unique_id ~ ' ' ~ source_table -%}
    {%- if key in looked_up -%}
        {{ return(looked_up[key] | replace('{column}', column)) }}
    {%- endif -%}
    {%- set query -%}
        with readable as (
            {{ readable_batches(model) }}
        )
        select cast({{ epoch('readable.extracted_at') }} as {{ type_text() }})
        from readable
        where
            readable.source_table = '{{ source_table }}'
            and not exists (
                select 1 from {{ ledger_of([model.name]) }} as already_read
                where
                    already_read.source_table = readable.source_table
                    and already_read.extracted_at = readable.extracted_at
                    and already_read.raw_rows = readable.raw_rows
            )
        order by 1
    {%- endset -%}
    {%- set literals = [] -%}
    {%- for moment in run_query(query).columns[0].values() -%}
        {%- do literals.append(moment_from_epoch(moment)) -%}
    {%- endfor -%}
    {%- do looked_up.update({key: '{column} in (' ~ literals | join(', ') ~ ')' if literals else 'false'}) -%}
    {{ return(looked_up[key] | replace('{column}', column)) }}
{% endmacro %}


{% macro record_batches() %}
    {#- Post-hook of every model: an incremental model (or the batch catalogue) records in
        its ledger what it has now read, inside the transaction that wrote its rows; a batch
        it read before keeps its entry (and the moment it was first read). -#}
    {%- if model.config.meta.get('is_batch_catalogue') -%}
        {{ replace_ledger('select source_table, extracted_at, raw_rows from ' ~ this) }}
    {%- elif model.config.materialized == 'incremental' and ledger_inputs(model) -%}
        {{ replace_ledger(readable_batches(model)) }}
    {%- endif -%}
{% endmacro %}


{% macro replace_ledger(batches) %}
    {{- return(adapter.dispatch('replace_ledger', 'webshop')(batches)) -}}
{% endmacro %}


{% macro default__replace_ledger(batches) %}
    {#- The model's ledger becomes `batches` (source_table, extracted_at, raw_rows). -#}
    delete from {{ batch_ledger() }} as recorded
    where
        recorded.model_name = '{{ model.name }}'
        and (recorded.source_table, recorded.extracted_at, recorded.raw_rows) not in (
            select * from ({{ batches }}) as readable
        );
    insert into {{ batch_ledger() }} (model_name, source_table, extracted_at, raw_rows)
    select '{{ model.name }}', readable.source_table, readable.extracted_at, readable.raw_rows
    from ({{ batches }}) as readable
    where not exists (
        select 1 from {{ batch_ledger() }} as recorded
        where
            recorded.model_name = '{{ model.name }}'
            and recorded.source_table = readable.source_table
            and recorded.extracted_at = readable.extracted_at
    )
{% endmacro %}


{% macro with_existing(relation, key, columns=none) %}
    {#- In an incremental run, `relation`'s rows plus the rows this model holds for the
        same keys (one index lookup per key: lateral_rows; as a semi-join PostgreSQL
        scanned the whole staged history each night), so that a model can compare new
        deliveries with what it has. Both sides give `columns` (default: all of them, in
        the same order). -#}
    {%- set selected = columns | join(', ') if columns else '*' %}
    select {{ selected }} from {{ relation }}
    {%- if is_incremental() %}
    union all
    select {{ 'existing.' ~ columns | join(', existing.') if columns else 'existing.*' }}
    from (select distinct {{ key }} from {{ relation }}) as delivered
    {{ lateral_rows(relation=this, key=key, outer='delivered', alias='existing') }}
    {%- endif %}
{% endmacro %}


{% macro only_changed(relation, key, columns) %}
    {#- In an incremental run, the rows of `relation` for the keys whose rows differ from
        what the model holds in `columns` (`key` among them; new keys included, and keys
        that lose a row): a re-delivered batch rewrites nothing. -#}
    select * from {{ relation }}
    {%- if is_incremental() %}
    where {{ key }} in (
        select {{ key }} from (
            (
                select {{ columns | join(', ') }} from {{ relation }}
                except
                select {{ columns | join(', ') }} from {{ this }} as existing
                where existing.{{ key }} in (select {{ key }} from {{ relation }})
            )
            union all
            (
                select {{ columns | join(', ') }} from {{ this }} as existing
                where existing.{{ key }} in (select {{ key }} from {{ relation }})
                except
                select {{ columns | join(', ') }} from {{ relation }}
            )
        ) as changed
    )
    {%- endif %}
{% endmacro %}


{% macro get_incremental_replace_from_sql(arg_dict) %}
    {#- Incremental strategy `replace_from`: the model returns, for each affected unit
        (unique_key, e.g. a customer), every row from some point on (column
        `replace_from_column`, e.g. session_start). The target's rows of that unit from
        that point on are deleted (delete_unit_rows_from), then the new rows inserted:
        rows that should vanish (sessions merged by a late event, versions moved by an
        out-of-order one) vanish. -#}
    {%- set target = arg_dict["target_relation"] -%}
    {%- set source = arg_dict["temp_relation"] -%}
    {%- set unit = arg_dict["unique_key"] -%}
    {%- set since = config.require("replace_from_column") -%}
    {%- set columns = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
    {{ delete_unit_rows_from(
        'select ' ~ unit ~ ', min(' ~ since ~ ') as replace_from from ' ~ source
        ~ ' group by ' ~ unit
    ) }};

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }};

    {{ record_written_units(source, unit, since) }}
{% endmacro %}


{% macro replace_from_restarts(restarts) %}
    {#- Pre-hook of a replace_from model whose recomputed rows can be none for a unit:
        keeps each unit's restart point (`restarts`: SQL giving the unique_key and
        restart_at) in restart_relation(), which the model reads instead of working the
        points out again, and deletes each unit's rows from there, so that rows that should
        vanish vanish even when the unit has no new row to carry the point (the strategy
        deletes from the first new row). Kept by a SELECT, which PostgreSQL can run on
        parallel workers; a DELETE's subqueries it plans on one core. Nothing in a full
        build. -#}
    {%- if is_incremental() -%}
        {%- set unit = config.require("unique_key") -%}
        {%- set restart = restart_relation() -%}
        {{ keep_as_table(restart, restarts) }}
        {{ delete_unit_rows_from(
            'select ' ~ unit ~ ', restart_at as replace_from from ' ~ restart
        ) }}
    {%- endif -%}
{% endmacro %}


{% macro delete_unit_rows_from(points) %}
    {{- return(adapter.dispatch('delete_unit_rows_from', 'webshop')(points)) -}}
{% endmacro %}


{% macro default__delete_unit_rows_from(points) -%}
    {#- Deletes, for each row of `points` (SQL: the model's unique_key and replace_from),
        the model's rows of that unit with replace_from_column at or after replace_from.
        They are found unit by unit through the index on (unit, column) and deleted by
        row id: as a join PostgreSQL hashed the units and scanned the whole table each
        night (int_session_products: 402 ms against 45 ms). -#}
    {%- set unit = config.require("unique_key") -%}
    {%- set since = config.require("replace_from_column") -%}
    delete from {{ this }} as existing
    where existing.ctid = any(array(
        select replaced_rows.ctid
        from ({{ points }}) as replaced
        {{ lateral_rows(
            relation=this, key=unit, column=since, since='replaced.replace_from',
            outer='replaced', alias='replaced_rows', columns='candidate.ctid'
        ) }}
    ))
{%- endmacro %}


{% macro delete_rows(condition, using=none, using_alias=none) %}
    {{- return(adapter.dispatch('delete_rows', 'webshop')(condition, using, using_alias)) -}}
{% endmacro %}


{% macro default__delete_rows(condition, using=none, using_alias=none) -%}
    {#- Deletes the rows of the model (`existing`) for which `condition` holds, a condition
        over `using` (SQL, as `using_alias`) when given. -#}
    delete from {{ this }} as existing
    {%- if using %}
    using ({{ using }}) as {{ using_alias }}
    {%- endif %}
    where {{ condition }}
{%- endmacro %}


{% macro keep_as_table(relation, sql) %}
    {{- return(adapter.dispatch('keep_as_table', 'webshop')(relation, sql)) -}}
{% endmacro %}


{% macro default__keep_as_table(relation, sql) -%}
    {#- Statements (each ending with `;`) that keep the rows of `sql` in `relation`, a
        temporary table (the session's), analyzed for the statements that read it. -#}
    drop table if exists {{ relation }};
    create temporary table {{ relation }} as
    {{ sql }};
    analyze {{ relation }};
{%- endmacro %}


{% macro delete_rows_from(column, since) %}
    {#- Pre-hook of a model recomputed whole from one point on (`since`: SQL for one value
        of `column`): in an incremental run, deletes its rows from there, so that rows
        that should vanish vanish. Nothing in a full build. -#}
    {%- if is_incremental() -%}
        {{ delete_rows('existing.' ~ column ~ ' >= (' ~ since ~ ')') }}
    {%- endif -%}
{% endmacro %}


{% macro delete_rows_outside(column, low, high, bounds) %}
    {#- Post-hook of a model whose incremental runs replace whole values of `column`
        (delete+insert): deletes its rows with `column` below `low` or above `high`, two
        columns of `bounds` (SQL for one row), which no recomputation replaces (a range
        that shrank). Nothing in a full build. -#}
    {%- if is_incremental() -%}
        {{ delete_rows(
            'existing.' ~ column ~ ' < bounds.' ~ low
            ~ ' or existing.' ~ column ~ ' > bounds.' ~ high,
            using=bounds, using_alias='bounds'
        ) }}
    {%- endif -%}
{% endmacro %}


{% macro customer_rows_from(relation, restart="restart") %}
    {#- The rows of `relation` (an events model with customer_id and event_at) of each
        customer in `restart` (customer_id, restart_at) at or after its restart_at. -#}
    select customer_rows.*
    from {{ restart }}
    {{ lateral_rows(
        relation=relation, key='customer_id', column='event_at',
        since=restart ~ '.restart_at', outer=restart, alias='customer_rows'
    ) }}
{% endmacro %}


{% macro lateral_rows(relation, key, outer, alias, column=none, since=none, outer_key=none, condition=none, columns='candidate.*') %}
    {#- Joins each row of `outer` to the rows of `relation` with the same `key` and
        `column` >= `since`, as `alias`: one index lookup on (key, column) per outer row
        (`outer_key`: the outer relation's name for the key, when it is another). Without
        `column`, every row of the key; `condition` (over `candidate`) filters further;
        `columns` are what it gives of each row (default all).
        `offset 0` keeps PostgreSQL from flattening the subquery into a join over the
        whole relation, which it prefers because it cannot know how recent `since` is.
        Pass a model, not a CTE: a CTE read twice is materialized and scanned whole per
        outer row. -#}
    cross join lateral (
        select {{ columns }}
        from {{ relation }} as candidate
        where
            candidate.{{ key }} = {{ outer }}.{{ outer_key or key }}
            {%- if column %}
            and candidate.{{ column }} >= {{ since }}
            {%- endif %}
            {%- if condition %}
            and {{ condition }}
            {%- endif %}
        {{ lateral_fence() }}
    ) as {{ alias }}
{% endmacro %}


{% macro latest_before(relation, key, column, outer, bound) -%}
    {#- SQL for one value: the latest `column` of `relation`'s rows with the key of the
        `outer` row, before `bound` (null when there is none): one lookup in the index
        on (key, column). -#}
    (
        select max(earlier.{{ column }}) from {{ relation }} as earlier
        where
            earlier.{{ key }} = {{ outer }}.{{ key }}
            and earlier.{{ column }} < {{ bound }}
    )
{%- endmacro %}


{% macro full_build_work_mem() %}
    {{- return(adapter.dispatch('full_build_work_mem', 'webshop')()) -}}
{% endmacro %}


{% macro default__full_build_work_mem() %}
    {#- Pre-hook: a model built whole (a table, a first or --full-refresh build) sorts its
        whole input, and a sort larger than work_mem spills to disk; such a build sorts
        with var('full_build_work_mem') instead (staging the events sorts ~600 MB per
        process at 10M events). Incremental runs keep the server's setting. `set local`
        ends with the model's transaction. -#}
    {%- set memory = var('full_build_work_mem', none) -%}
    {%- if memory and model.config.materialized in ('table', 'incremental') and not is_incremental() -%}
        set local work_mem = '{{ memory | string | replace("'", "''") }}'
    {%- endif -%}
{% endmacro %}


{% macro analyze_after_full_build() %}
    {{- return(adapter.dispatch('analyze_after_full_build', 'webshop')()) -}}
{% endmacro %}


{% macro default__analyze_after_full_build() %}
    {#- Post-hook: `analyze` an incremental model right after it was built whole (first
        build or --full-refresh); its incremental runs skip it (their few new rows do not
        move the statistics the index lookups need). -#}
    {%- if model.config.materialized == 'incremental' and not is_incremental() -%}
        analyze {{ this }}
    {%- endif -%}
{% endmacro %}


{% macro touched_orders(batches) %}
    {#- The orders with a version or a line version in a raw batch this incremental model
        has not read (`batches`: int_orders__batches). -#}
    select distinct order_id
    from {{ batches }}
    where
        (source_table = 'orders' and {{ is_unread('_extracted_at', 'orders') }})
        or (source_table = 'order_line' and {{ is_unread('_extracted_at', 'order_line') }})
{% endmacro %}


{% macro partial_index(column, condition) %}
    {{- return(adapter.dispatch('partial_index', 'webshop')(column, condition)) -}}
{% endmacro %}


{% macro default__partial_index(column, condition) %}
    {#- Post-hook: an index on `column` over the few rows where `condition` holds, for the
        checks that count them (mart_data_quality) and the lookups of a dimension's current
        versions (`is_current`); made once per table (named after the
        table's oid, so a table rebuilt whole gets its own). dbt's `indexes` config has no
        WHERE clause. -#}
    do $$
    begin
        execute format(
            'create index if not exists %I on {{ this }} (%I) where {{ condition }}',
            '{{ this.identifier[:30] }}_{{ local_md5(condition)[:8] }}_'
            || '{{ this }}'::regclass::oid,
            '{{ column }}'
        );
    end
    $$
{% endmacro %}


{% macro versions_changed_from(dimension, key, source_table, reset_column=none) %}
    {#- Per key of an SCD2 dimension with versions this incremental model has not read
        (raw table `source_table`): from when on the version in force may differ
        (changed_from). A new version that is not the key's first only moves the valid_to
        of the one before it, whose rows before the new valid_from keep their version; a
        new first version (its valid_from may start from another created_at) and an
        unread `reset_column` (a closed account) change them all (-infinity). A fact
        placed before changed_from joins the same version as before. -#}
    select
        changed.{{ key }},
        min(case
            {%- if reset_column %}
            when {{ is_unread('changed.' ~ reset_column, source_table) }}
                then {{ minus_infinity() }}
            {%- endif %}
            when not exists (
                select 1 from {{ dimension }} as earlier
                where
                    earlier.{{ key }} = changed.{{ key }}
                    and earlier.valid_from < changed.valid_from
            ) then {{ minus_infinity() }}
            else changed.valid_from
        end) as changed_from
    from {{ dimension }} as changed
    where
        {{ is_unread('changed._extracted_at', source_table) }}
        {%- if reset_column %}
        or {{ is_unread('changed.' ~ reset_column, source_table) }}
        {%- endif %}
    group by changed.{{ key }}
{% endmacro %}


{% macro versions_restart_week(dimension, key, source_table, week_column='week_start') %}
    {#- SQL for one date: the ISO week (Monday, UTC) from which a weekly incremental mart
        over SCD2 `dimension` (rows per `key` and `week_column`) is recomputed, null when no
        version changed: the earliest changed_from of versions_changed_from; for a key
        whose first version is new (all its valid_from may move), the earlier of its first
        valid_from now and the first week the mart shows for it (read from `this`: no
        pre-hook may change the mart's rows before the model runs). -#}
    with

    changed as (
        {{ versions_changed_from(dimension, key, source_table) }}
    ),

    restarts as (
        select
            case
                when changed.changed_from > {{ minus_infinity() }}
                    then changed.changed_from
                else least(
                    (
                        select min(versions.valid_from)
                        from {{ dimension }} as versions
                        where versions.{{ key }} = changed.{{ key }}
                    ),
                    (
                        select {{ utc_moment('min(shown.' ~ week_column ~ ')') }}
                        from {{ this }} as shown
                        where shown.{{ key }} = changed.{{ key }}
                    )
                )
            end as restart_at
        from changed
    )

    select
        cast({{ dbt.date_trunc('week', utc_clock('min(restart_at)')) }} as date)
            as restart_week
    from restarts
{% endmacro %}
