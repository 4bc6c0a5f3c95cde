{#- Apache Spark (dbt-spark, Parquet tables): where it differs from PostgreSQL.

    The models are the same files on both engines; each difference is one macro dispatched
    on the adapter (`adapter.dispatch(name, 'webshop')`): `default__<name>` is PostgreSQL's,
    `spark__<name>` here. Incremental models are incremental on Spark too (below); the
    written units of the nightly tests, indexes, statistics and memory settings have
    nothing to do there. PostgreSQL's roles and grants have no counterpart in open-source
    Spark (access is the file system's or the catalog's). -#}

{% macro spark__create_functions() %}{% endmacro %}
{% macro spark__check_raw() %}
    {#- Before anything is built: the raw tables exist (else one line: load first). Raw is
        not compared with the ledgers here (PostgreSQL's check tells a rebuilt raw table by
        its oid, which Spark has not): after a reset of raw, build with --full-refresh. -#}
    {%- if execute -%}
        {%- set raw_schema = var('raw_schema') -%}
        {%- set missing = [] -%}
        {%- for table in ['customer', 'product', 'voucher', 'orders', 'order_line', 'event'] -%}
            {%- if adapter.get_relation(database=none, schema=raw_schema, identifier=table) is none -%}
                {%- do missing.append(raw_schema ~ '.' ~ table) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error(
                "nothing loaded yet: Spark has no raw table " ~ missing | join(', ')
                ~ "; load first (`webshop load --target spark --days N`), then run dbt again"
            ) }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
{% macro spark__grant_reader_access() %}{% endmacro %}
{% macro spark__forget_written_units() %}{% endmacro %}
{% macro spark__analyze_after_full_build() %}{% endmacro %}
{% macro spark__full_build_work_mem() %}{% endmacro %}
{% macro spark__prefer_parallel_workers() %}{% endmacro %}
{% macro spark__prefer_sorted_aggregation() %}{% endmacro %}
{% macro spark__prefer_parallel_sort() %}{% endmacro %}
{% macro spark__partial_index(column, condition) %}{% endmacro %}
{% macro spark__apply_grants(relation, grant_config, should_revoke=True) %}{% endmacro %}


{#- Incremental models (macros/incremental.sql). A Parquet table has no DELETE and Spark
    no transactions: an incremental run writes the model's new rows to a table; when they
    replace none of the model's rows, it appends them, and when they do, it rewrites the
    model as its rows that are not replaced plus the new ones (spark_rewrite: a new table
    swapped in by two renames). A run killed during a rewrite leaves the old table, the
    new one, or none; none makes the next run build the model whole, which gives the
    same rows. Each model keeps its batch ledger in a table of its own
    (`<model>__ledger`), appended to after its rows (a run killed between the two reads the
    same batches again, which replaces the same units with the same rows), and read only by
    the models downstream of it, so that two models finishing at once never write one
    table. -#}

{% materialization incremental, adapter='spark' %}
    {%- set existing = load_cached_relation(this) -%}
    {%- if existing is none or not existing.is_table or should_full_refresh() -%}
        {{- return(materialization_table_spark()) -}}
    {%- endif -%}
    {%- set strategy = config.get('incremental_strategy') -%}
    {%- set unit = config.get('unique_key') -%}
    {%- if not (strategy == 'append' or strategy in ('delete+insert', 'replace_from') and unit is string) -%}
        {{ exceptions.raise_compiler_error(
            this ~ ": incremental strategy " ~ strategy ~ " with unique_key " ~ unit
            ~ " has no Spark implementation (append, or delete+insert or replace_from on one column)"
        ) }}
    {%- endif -%}
    {%- set replaced -%}
        replacing.{{ unit }} = existing.{{ unit }}
        {%- if strategy == 'replace_from' %}
        and existing.{{ config.require('replace_from_column') }}
            >= replacing.{{ config.require('replace_from_column') }}
        {%- endif %}
    {%- endset -%}
    {%- set new_rows = this.incorporate(path={'identifier': this.identifier ~ '__dbt_new'}) -%}

    {{ run_hooks(pre_hooks) }}
    {%- do run_query('drop table if exists ' ~ new_rows) -%}
    {%- call statement('main') -%}
        create table {{ new_rows }} using parquet as
        {{ compiled_code }}
    {%- endcall -%}
    {%- if run_query('select 1 from ' ~ new_rows ~ ' limit 1').rows | length > 0 -%}
        {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | join(', ') -%}
        {%- set replacing_any = strategy != 'append' and run_query(
            'select 1 from ' ~ this ~ ' as existing where exists (select 1 from '
            ~ new_rows ~ ' as replacing where ' ~ replaced ~ ') limit 1'
        ).rows | length > 0 -%}
        {%- if replacing_any -%}
            {%- set rewritten -%}
                select {{ columns }} from {{ this }} as existing
                where not exists (select 1 from {{ new_rows }} as replacing where {{ replaced }})
                union all
                select {{ columns }} from {{ new_rows }}
            {%- endset -%}
            {%- do spark_rewrite(this, rewritten) -%}
        {%- else -%}
            {%- do run_query('insert into ' ~ this ~ ' select ' ~ columns ~ ' from ' ~ new_rows) -%}
        {%- endif -%}
    {%- endif -%}
    {%- do run_query('drop table ' ~ new_rows) -%}
    {{ run_hooks(post_hooks) }}
    {{ return({'relations': [this]}) }}
{% endmaterialization %}


{% macro spark_rewrite(relation, sql) %}
    {#- `relation` (a table) becomes the rows of `sql` (which may read it). -#}
    {%- set rewritten = relation.incorporate(path={'identifier': relation.identifier ~ '__dbt_rewrite'}) -%}
    {%- set replaced = relation.incorporate(path={'identifier': relation.identifier ~ '__dbt_old'}) -%}
    {%- do spark__keep_as_table(rewritten, sql) -%}
    {%- do run_query('drop table if exists ' ~ replaced) -%}
    {%- do run_query('alter table ' ~ relation ~ ' rename to ' ~ replaced) -%}
    {%- do run_query('alter table ' ~ rewritten ~ ' rename to ' ~ relation) -%}
    {%- do run_query('drop table ' ~ replaced) -%}
{% endmacro %}


{% macro spark__delete_rows(condition, using=none, using_alias=none) -%}
    {#- Rewrites the model without the rows `condition` selects (when there are any). -#}
    {%- if execute -%}
        {%- set deleted -%}
            {%- if using -%}
                exists (select 1 from ({{ using }}) as {{ using_alias }} where {{ condition }})
            {%- else -%}
                coalesce({{ condition }}, false)
            {%- endif -%}
        {%- endset -%}
        {%- if run_query('select 1 from ' ~ this ~ ' as existing where ' ~ deleted ~ ' limit 1').rows | length > 0 -%}
            {%- do spark_rewrite(this, 'select * from ' ~ this ~ ' as existing where not ' ~ deleted) -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{% macro spark__delete_unit_rows_from(points) -%}
    {#- The model rewritten without each unit's rows from its point (spark__delete_rows). -#}
    {%- set unit = config.require("unique_key") -%}
    {%- set since = config.require("replace_from_column") -%}
    {{ spark__delete_rows(
        'existing.' ~ unit ~ ' = replaced.' ~ unit
        ~ ' and existing.' ~ since ~ ' >= replaced.replace_from',
        using=points, using_alias='replaced'
    ) }}
{%- endmacro %}


{% macro spark__keep_as_table(relation, sql) -%}
    {#- A table (Spark's temporary views are computed again each time they are read). -#}
    {%- if execute -%}
        {%- do run_query('drop table if exists ' ~ relation) -%}
        {%- do run_query('create table ' ~ relation ~ ' using parquet as ' ~ sql) -%}
    {%- endif -%}
{%- endmacro %}


{% macro spark__restart_relation() -%}
    {#- A table in the target schema, beside the ledgers (Spark has no temporary tables). -#}
    {{ api.Relation.create(schema=target.schema, identifier=this.identifier ~ '__restart') }}
{%- endmacro %}


{% macro model_ledger(model_name) %}
    {{- return(api.Relation.create(schema=target.schema, identifier=model_name ~ '__ledger')) -}}
{% endmacro %}


{% macro spark__create_batch_ledger() %}
    {#- on-run-start: the ledger table of each incremental model and of the batch catalogue
        (in the target schema, made first: on-run-start runs before dbt makes it). -#}
    {%- if execute -%}
        {%- do run_query('create schema if not exists ' ~ adapter.quote(target.schema)) -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' -%}
            {%- if node.config.materialized == 'incremental' or node.config.meta.get('is_batch_catalogue') -%}
                {%- do run_query(
                    'create table if not exists ' ~ model_ledger(node.name)
                    ~ ' (model_name string, source_table string, extracted_at timestamp,'
                    ~ ' raw_rows bigint, recorded_at timestamp) using parquet'
                ) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}


{% macro spark__ledger_of(model_names) -%}
    (
        {%- for model_name in model_names %}
        select * from {{ model_ledger(model_name) }}
        {%- if not loop.last %} union all{% endif %}
        {%- endfor %}
    )
{%- endmacro %}


{% macro spark__ledger_exists() %}
    {{- return(adapter.get_relation(database=none, schema=target.schema, identifier=model_ledger(model.name).identifier) is not none) -}}
{% endmacro %}


{% macro spark__moment_from_epoch(seconds) -%}
    timestamp_micros(cast({{ seconds }} * 1000000 as bigint))
{%- endmacro %}


{% macro spark__replace_ledger(batches) -%}
    {#- The model's ledger becomes `batches`: those it lacks are appended (on a night, the
        one statement); entries no longer among them (a batch whose row count changed) go
        in a rewrite, made only when there are any. A batch kept keeps its recorded_at. -#}
    {%- if execute -%}
        {%- set ledger = model_ledger(model.name) -%}
        {%- set same -%}
            readable.source_table = recorded.source_table
            and readable.extracted_at = recorded.extracted_at
            and readable.raw_rows = recorded.raw_rows
        {%- endset -%}
        {%- set readable -%}
            exists (select 1 from ({{ batches }}) as readable where {{ same }})
        {%- endset -%}
        {%- if run_query('select 1 from ' ~ ledger ~ ' as recorded where not ' ~ readable ~ ' limit 1').rows | length > 0 -%}
            {%- do spark_rewrite(ledger, 'select * from ' ~ ledger ~ ' as recorded where ' ~ readable) -%}
        {%- endif -%}
        {%- set lacking -%}
            insert into {{ ledger }}
            select
                '{{ model.name }}' as model_name,
                readable.source_table,
                readable.extracted_at,
                readable.raw_rows,
                current_timestamp() as recorded_at
            from ({{ batches }}) as readable
            where not exists (select 1 from {{ ledger }} as recorded where {{ same }})
        {%- endset -%}
        {%- do run_query(lacking) -%}
    {%- endif -%}
{%- endmacro %}


{% macro spark__written_units_exist(written) %}
    {#- Spark's incremental runs keep no written units: the tests read every row. -#}
    {{- return(false) -}}
{% endmacro %}


{#- Types and operators (macros/sql_dialect.sql). -#}

{% macro spark__type_text() -%}string{%- endmacro %}

{% macro spark__type_timestamptz() -%}timestamp{%- endmacro %}

{% macro spark__matches(text_expression, pattern) -%}
    {#- Java's regular expressions read a POSIX class inside brackets as its letters. -#}
    {%- set java = pattern
        | replace('[:space:]', '\\s') | replace('[:digit:]', '\\d') | replace('[:alpha:]', '\\p{Alpha}')
        | replace('\\', '\\\\') | replace("'", "\\'") -%}
    {{ text_expression }} rlike '{{ java }}'
{%- endmacro %}

{#- Hashes and surrogate keys hash the same text as on PostgreSQL, so ids and the
    tie-breaks that compare them agree between the engines: epoch seconds with six
    decimals (PostgreSQL's numeric), and a list of values as json_build_array prints it.
    (An event's document, without ip and user-agent, is the one exception: PostgreSQL
    prints jsonb, see spark__erased_event_data.) -#}

{% macro spark__epoch(column) -%}
    cast(cast(unix_micros({{ column }}) as decimal(26, 0)) / 1000000 as decimal(26, 6))
{%- endmacro %}

{% macro spark__values_as_text(expressions) -%}
    concat('[', concat_ws(', ',
    {%- for expression in expressions %}
        regexp_extract(to_json(array({{ expression }})), '(?s)^\\[(.*)\\]$', 1){% if not loop.last %},{% endif %}
    {%- endfor %}
    ), ']')
{%- endmacro %}


{#- The tracker's JSON (macros/parsing.sql, macros/raw_rules.sql), read as Spark's VARIANT.
    As in PostgreSQL's jsonb, a key given twice keeps its last value (the profile sets
    spark.sql.variant.allowDuplicateKeys). Spark's reader differs on two kinds of text no
    tracker sends: it ignores text after a complete value (so a document must also end in
    `}`), and it reads a number by its value, so 12.0 is a whole number here (PostgreSQL's
    numeric keeps the written scale: 12.0 is no whole number there). -#}

{% macro spark__try_jsonb(text_expression) -%}
    try_parse_json(case
        when length({{ text_expression }}) <= {{ var('max_event_data_length') | int }}
            then {{ text_expression }}
    end)
{%- endmacro %}

{% macro spark__unicode_trim(text_expression) -%}
    btrim({{ text_expression }}, ' \u0009\u000A\u000B\u000C\u000D\u0085\u00A0\u1680\u180E\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u200B\u2028\u2029\u202F\u205F\u3000\uFEFF')
{%- endmacro %}

{% macro spark__json_is_set(json_value) -%}
    coalesce({{ json_value }} is not null and not is_variant_null({{ json_value }}), false)
{%- endmacro %}

{% macro spark__json_is_string(json_value) -%}
    schema_of_variant({{ json_value }}) = 'STRING'
{%- endmacro %}

{% macro spark__json_bigint(json_value, type='bigint', max_digits=18) -%}
    {%- set bound = '9' * max_digits -%}
    case
        when schema_of_variant({{ json_value }}) = 'BIGINT'
            or schema_of_variant({{ json_value }}) rlike '^DECIMAL\\([0-9]+,0\\)$'
            then case
                when variant_get({{ json_value }}, '$', 'decimal(38, 0)') between -{{ bound }} and {{ bound }}
                    then cast(variant_get({{ json_value }}, '$', 'decimal(38, 0)') as {{ type }})
            end
        when schema_of_variant({{ json_value }}) = 'STRING' then case
            when {{ unicode_trim("variant_get(" ~ json_value ~ ", '$', 'string')") }} rlike '^-?[0-9]{1,{{ max_digits }}}$'
                then cast({{ unicode_trim("variant_get(" ~ json_value ~ ", '$', 'string')") }} as {{ type }})
        end
    end
{%- endmacro %}

{% macro spark__parse_event_document(relation) %}
    cross join lateral (
        select case
            when length({{ relation }}.event_data) <= {{ var('max_event_data_length') | int }}
                and {{ relation }}.event_data rlike '[}][ \t\n\r]*$'
                then try_parse_json({{ relation }}.event_data)
        end as parsed
    ) as event_parsed
    cross join lateral (
        select case
            when schema_of_variant(event_parsed.parsed) like 'OBJECT%' then event_parsed.parsed
        end as document
    ) as event_json
    cross join lateral (
        select
            variant_get(event_json.document, '$["customer-id"]') as `customer-id`,
            variant_get(event_json.document, '$["user-agent"]', 'string') as `user-agent`,
            variant_get(event_json.document, '$.ip', 'string') as ip,
            variant_get(event_json.document, '$.page', 'string') as page,
            variant_get(event_json.document, '$.referrer', 'string') as referrer,
            variant_get(event_json.document, '$.product') as product,
            variant_get(event_json.document, '$.quantity') as quantity,
            variant_get(event_json.document, '$.query', 'string') as query,
            variant_get(event_json.document, '$.position') as `position`
    ) as event_document
    cross join lateral (
        select
            upper({{ unicode_trim(relation ~ '.event_type') }}) as event_type,
            {{ json_bigint(event_key('customer-id')) | indent(12) }} as customer_id,
            {{ json_bigint(event_key('product')) | indent(12) }} as product_id,
            {{ json_bigint(event_key('quantity')) | indent(12) }} as quantity,
            {{ json_bigint(event_key('position')) | indent(12) }} as list_position
    ) as event_value
{% endmacro %}

{% macro spark__lateral_value(expression, alias, column) -%}
    cross join lateral (select {{ expression }} as {{ column }}) as {{ alias }}
{%- endmacro %}

{% macro spark__has_keys_outside(document, event_data, keys) -%}
    size(array_except(json_object_keys({{ event_data }}), array('{{ keys | join("', '") }}'))) > 0
{%- endmacro %}

{% macro spark__erased_event_data(event_data, document=none) -%}
    {%- set without_values -%}
        regexp_replace({{ event_data }}, '"(ip|user-agent)"\\s*:\\s*("(\\\\.|[^"\\\\])*"|null)', '"$1": null')
    {%- endset -%}
    {%- if document -%}
        case
            when {{ document }} is not null then to_json(map_filter(
                from_json({{ event_data }}, 'map<string, string>'), (k, v) -> k not in ('ip', 'user-agent')
            ))
            else {{ without_values }}
        end
    {%- else -%}
        {{ without_values }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__quarantine_source_row(table, relation) -%}
    to_json(named_struct(
    {%- for column in raw_columns(table) if column not in personal_data_columns_of(table) or table == 'event' %}
        '{{ column }}',
        {% if table == 'event' and column == 'event_data' -%}
            {{ erased_event_data(relation ~ '.event_data', 'event_json.document') }}
        {%- else -%}
            {{ relation }}.{{ column }}
        {%- endif %}{% if not loop.last %},{% endif %}
    {%- endfor %}
    ))
{%- endmacro %}


{#- dbt_date.day_of_week's default reads Sunday as 0; Spark's dayofweek gives 1 (and
    weekday() 0 for Monday). -#}
{% macro spark__day_of_week(date, isoweek=true) -%}
    {%- if isoweek -%}
        (weekday({{ date }}) + 1)
    {%- else -%}
        dayofweek({{ date }})
    {%- endif -%}
{%- endmacro %}


{#- dbt_utils.deduplicate's default joins on every column, and a null never joins. -#}
{% macro spark__deduplicate(relation, partition_by, order_by) -%}
    select *
    from {{ relation }}
    qualify row_number() over (partition by {{ partition_by }} order by {{ order_by }}) = 1
{%- endmacro %}


{#- Moments: Spark's timestamp is an instant, read and shown in the session's time zone,
    which the profile sets to UTC (spark.sql.session.timeZone); timestamp_ntz is a clock
    reading. -#}

{% macro spark__minus_infinity(type='timestamptz') -%}
    {#- Spark's timestamps and dates start at year 1 ('-infinity' reads as null). -#}
    {%- if type == 'date' -%}
        date '0001-01-01'
    {%- else -%}
        timestamp '0001-01-01 00:00:00+00'
    {%- endif -%}
{%- endmacro %}

{% macro spark__utc_clock(moment) -%}
    cast({{ moment }} as timestamp_ntz)
{%- endmacro %}

{% macro spark__utc_moment(clock) -%}
    cast({{ clock }} as timestamp)
{%- endmacro %}

{% macro spark__seconds_between(start, stop) -%}
    cast(unix_micros({{ stop }}) - unix_micros({{ start }}) as decimal(20, 0)) / 1000000
{%- endmacro %}

{% macro spark__cte_materialized(materialized=true) %}{% endmacro %}

{% macro spark__lateral_fence() %}{% endmacro %}

{% macro spark__customer_restarts(touches, sessionized) %}
    {#- The same restart points as a join on the customer and an aggregate: Spark turns
        the lateral aggregate into one over every pair of touch moment and event. -#}
    select
        touched.customer_id,
        least(touched.first_touch_at, min(sessionized.session_start)) as restart_at
    from ({{ first_touches(touches) }}) as touched
    left join {{ sessionized }} as sessionized
        on
            touched.customer_id = sessionized.customer_id
            and sessionized.event_at >= touched.first_touch_at - {{ session_gap() }}
    group by touched.customer_id, touched.first_touch_at
{% endmacro %}

{% macro spark__sessions_ending_from(outer, since, alias, keep_outer=false) %}
    {#- The customer's sessions that end at or after `since`: the sessions PostgreSQL's
        two lookups find (a customer's sessions do not overlap), as one join on the
        customer. Spark turns the ORDER BY ... LIMIT 1 of the other into a window over
        every pair of outer moment and session. -#}
    {{ 'left join' if keep_outer else 'cross join' }} lateral (
        select candidate.*
        from {{ ref('fct_sessions') }} as candidate
        where
            candidate.customer_id = {{ outer }}.customer_id
            and candidate.session_end >= {{ since }}
    ) as {{ alias }}{{ ' on true' if keep_outer else '' }}
{% endmacro %}

{% macro spark__weeks_between(first_week, last_week, alias, column) -%}
    lateral explode(sequence(
        {{ first_week }},
        {{ last_week }},
        interval 7 days
    )) as {{ alias }} ({{ column }})
{%- endmacro %}
