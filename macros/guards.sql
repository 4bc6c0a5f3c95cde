{#- Guards: before a run builds anything, the raw tables must be there and must still hold
    what the models have read (the batch ledger, macros/incremental.sql). -#}

{% macro check_raw() %}
    {{- return(adapter.dispatch('check_raw', 'webshop')()) -}}
{% endmacro %}


{% macro default__check_raw() %}
    {#- on-run-start, after the ledger exists: stop with one line saying what to do when
        - a raw table is missing, or every one is empty: nothing is loaded yet;
        - a raw table is not the one the ledger's batches were read from (it was dropped
          and created again, truncated or rewritten since the last run: its pg_class oid
          or relfilenode changed) and it does not hold exactly the rows the ledger says
          were read, batch by batch: raw was reset or restored from an older copy, and
          what dbt built holds rows raw no longer has (run `dbt build --full-refresh`).
        Counting every batch reads the whole raw table, so it only happens when a table
        changed that way (a copy restored as it was, or a VACUUM FULL, passes the count
        and is accepted). The ledgers of the models this run rebuilds whole
        (--full-refresh, and the batch catalogue, a table) are written anew and not
        compared. Returns the SQL that records the raw tables now checked. -#}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set sources = graph.sources.values() | sort(attribute='name') | list -%}
    {%- if sources | length == 0 -%}
        {{ return('') }}
    {%- endif -%}
    {%- set raw_schema = sources[0].schema -%}
    {%- set load_first = "load first (`webshop load --days N`, or your EL job), then run dbt again" -%}

    {%- set catalog = run_query(raw_tables_query(sources)) -%}
    {%- set missing = [] -%}
    {%- for row in catalog.rows if row[1] is none -%}
        {%- do missing.append(raw_schema ~ '.' ~ row[0]) -%}
    {%- endfor -%}
    {%- if missing | length == sources | length -%}
        {{ exceptions.raise_compiler_error(
            "nothing loaded yet: database " ~ target.database ~ " has no raw tables (schema "
            ~ raw_schema ~ "); " ~ load_first
        ) }}
    {%- elif missing -%}
        {{ exceptions.raise_compiler_error(
            "raw table " ~ missing | join(', ') ~ " does not exist in database "
            ~ target.database ~ "; " ~ load_first
        ) }}
    {%- endif -%}
    {%- for row in catalog.rows if not row[3] -%}
        {{ exceptions.raise_compiler_error(
            "role " ~ target.user ~ " may not read raw table " ~ raw_schema ~ "." ~ row[0]
            ~ ": grant it select (`webshop db roles --sql` prints the grants)"
        ) }}
    {%- endfor -%}

    {%- set empty_query -%}
        select
            {%- for source in sources %}
            not exists (select from {{ source.relation_name }}){{ ' and' if not loop.last }}
            {%- endfor %}
    {%- endset -%}
    {%- if run_query(empty_query).rows[0][0] -%}
        {{ exceptions.raise_compiler_error(
            "nothing loaded yet: the raw tables in schema " ~ raw_schema ~ " of database "
            ~ target.database ~ " are empty; " ~ load_first
        ) }}
    {%- endif -%}

    {%- set rebuilt = [] -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and node.unique_id in selected_resources -%}
        {%- if flags.FULL_REFRESH or node.config.materialized != 'incremental' -%}
            {%- do rebuilt.append(node.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set recorded = adapter.get_relation(target.database, target.schema, 'batch_ledger_tables') -%}
    {%- set known = {} -%}
    {%- if recorded is not none -%}
        {%- for row in run_query("select source_table, relation_oid::text, relation_file::text from " ~ recorded).rows -%}
            {%- do known.update({row[0]: row[1] ~ '/' ~ row[2]}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set changed = [] -%}
    {%- for row in catalog.rows if known.get(row[0]) != row[1] ~ '/' ~ row[2] -%}
        {%- do changed.append(row[0]) -%}
    {%- endfor -%}
    {%- set to_count = [] -%}
    {%- if changed -%}
        {%- set read_query -%}
            select distinct source_table from {{ batch_ledger() }}
            where
                source_table in ('{{ changed | join("', '") }}')
                {%- if rebuilt %}
                and model_name not in ('{{ rebuilt | join("', '") }}')
                {%- endif %}
        {%- endset -%}
        {%- for row in run_query(read_query).rows -%}
            {%- do to_count.append(sources | selectattr('name', 'equalto', row[0]) | first) -%}
        {%- endfor -%}
    {%- endif -%}

    {%- if to_count -%}
        {%- set differing = run_query(differing_batches_query(to_count, rebuilt)) -%}
        {%- set found = differing.rows[0] -%}
        {%- if found[0] > 0 -%}
            {{ exceptions.raise_compiler_error(
                "raw was reset or restored: schema " ~ raw_schema ~ " no longer holds "
                ~ found[0] ~ " batch(es) as the models in " ~ target.schema ~ "_* read them ("
                ~ found[1] ~ " .. " ~ found[2] ~ "; tables " ~ found[3] ~ "); rebuild them "
                ~ "from what raw holds now: dbt build --full-refresh"
            ) }}
        {%- endif -%}
    {%- endif -%}

    create table if not exists {{ adapter.quote(target.schema) }}.batch_ledger_tables (
        source_table text primary key,
        relation_oid oid not null,
        relation_file oid not null
    );
    {%- if changed %}
    insert into {{ adapter.quote(target.schema) }}.batch_ledger_tables
        (source_table, relation_oid, relation_file)
    values
        {%- for row in catalog.rows %}
        ('{{ row[0] }}', {{ row[1] }}, {{ row[2] }}){{ ',' if not loop.last }}
        {%- endfor %}
    on conflict (source_table) do update
    set relation_oid = excluded.relation_oid, relation_file = excluded.relation_file;
    {%- endif %}
{% endmacro %}


{% macro raw_tables_query(sources) %}
    {#- Per source table: its name, pg_class oid and relfilenode (null when it does not
        exist) and whether the current role may read it. The catalogs, not
        information_schema: they show tables we hold no privilege on. -#}
    select
        wanted.source_table,
        found.oid::text,
        found.relfilenode::text,
        coalesce(has_table_privilege(found.oid, 'select'), false) as readable
    from (
        values
        {%- for source in sources %}
        ('{{ source.name }}', '{{ source.schema }}', '{{ source.identifier }}'){{ ',' if not loop.last }}
        {%- endfor %}
    ) as wanted (source_table, schema_name, relation_name)
    left join (
        select
            pg_class.oid,
            pg_class.relfilenode,
            pg_namespace.nspname,
            pg_class.relname
        from pg_catalog.pg_class
        inner join pg_catalog.pg_namespace on pg_class.relnamespace = pg_namespace.oid
        where pg_class.relkind in ('r', 'p', 'v', 'm', 'f')
    ) as found
        on wanted.schema_name = found.nspname and wanted.relation_name = found.relname
    order by wanted.source_table
{% endmacro %}


{% macro differing_batches_query(sources, rebuilt) %}
    {#- One row: how many batches of the raw tables `sources` the ledger (but for the
        models in `rebuilt`) counts differently from raw now, the first and last batch
        date, and the tables. -#}
    with

    read_batches as (
        select
            source_table,
            extracted_at,
            max(raw_rows) as raw_rows
        from {{ batch_ledger() }}
        where
            source_table in ('{{ sources | map(attribute="name") | join("', '") }}')
            {%- if rebuilt %}
            and model_name not in ('{{ rebuilt | join("', '") }}')
            {%- endif %}
        group by source_table, extracted_at
    ),

    raw_batches as (
        {%- for source in sources %}
        select
            '{{ source.name }}' as source_table,
            _extracted_at as extracted_at,
            count(*) as raw_rows
        from {{ source.relation_name }}
        group by _extracted_at
        {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    )

    select
        count(distinct read_batches.extracted_at) as batches,
        min(read_batches.extracted_at)::date::text as first_batch,
        max(read_batches.extracted_at)::date::text as last_batch,
        string_agg(distinct read_batches.source_table, ', ') as source_tables
    from read_batches
    left join raw_batches
        on
            read_batches.source_table = raw_batches.source_table
            and read_batches.extracted_at = raw_batches.extracted_at
    where raw_batches.raw_rows is distinct from read_batches.raw_rows
{% endmacro %}
