{% macro only_new_batches(extracted_at="_extracted_at") %}
    {#- In an incremental run, keep the source rows of the batches at or after the
        newest batch already in this model (the watermark lives in the target, so a full
        refresh computes the same thing). `>=` re-reads the newest batch: a re-delivery
        with the same batch moment is caught, and the anti-join drops what is known. -#}
    {%- if is_incremental() %}
        where {{ extracted_at }} >= {{ watermark() }}
    {%- endif -%}
{% endmacro %}


{% macro not_already_loaded(relation, key) %}
    {#- Anti-join for append-only incremental models: drop rows whose key the target holds. -#}
    {%- if is_incremental() %}
        where not exists (
            select 1 from {{ this }} as existing
            where existing.{{ key }} = {{ relation }}.{{ key }}
        )
    {%- endif -%}
{% endmacro %}


{% macro get_incremental_replace_from_sql(arg_dict) %}
    {#- Incremental strategy `replace_from`: the model returns, for each affected unit
        (unique_key, e.g. a customer), every row from some point on (column
        `replace_from_column`, e.g. session_start). The target's rows of that unit from
        that point on are deleted, then the new rows inserted: rows that should vanish
        (sessions merged by a late event, versions moved by an out-of-order one) vanish. -#}
    {%- set target = arg_dict["target_relation"] -%}
    {%- set source = arg_dict["temp_relation"] -%}
    {%- set unit = arg_dict["unique_key"] -%}
    {%- set since = config.require("replace_from_column") -%}
    {%- set columns = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
    delete from {{ target }} as existing
    using (
        select {{ unit }}, min({{ since }}) as replace_from
        from {{ source }}
        group by {{ unit }}
    ) as replaced
    where existing.{{ unit }} = replaced.{{ unit }}
        and existing.{{ since }} >= replaced.replace_from;

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }};
{% endmacro %}


{% macro watermark(column="_extracted_at") %}
    {#- The newest batch moment this incremental model holds, as a literal (looked up when
        the model runs), so the planner sees how few source rows are at or after it and
        reads them through an index; a subquery there is estimated at a third of the table.
        A unit test's `this` is a CTE of its fixture rows: there the subquery it is. -#}
    {%- set newest = "coalesce(max(" ~ column ~ "), '-infinity'::timestamptz)" -%}
    {%- if execute and not (this | string).startswith('__dbt__cte__') -%}
        {%- set query = "select cast(" ~ newest ~ " as text) from " ~ this -%}
        cast('{{ run_query(query).columns[0].values()[0] }}' as timestamptz)
    {%- else -%}
        (select {{ newest }} from {{ this }})
    {%- endif -%}
{%- endmacro %}


{% macro customer_rows_from(relation, restart="restart") %}
    {#- The rows of `relation` (an events model with customer_id and event_at) of each
        customer in `restart` (customer_id, restart_at) at or after its restart_at. -#}
    select customer_rows.*
    from {{ restart }}
    {{ lateral_rows(relation, 'customer_id', 'event_at', restart ~ '.restart_at', restart, 'customer_rows') }}
{% endmacro %}


{% macro lateral_rows(relation, key, column, since, outer, alias) %}
    {#- Joins each row of `outer` to the rows of `relation` with the same `key` and
        `column` >= `since`, as `alias`: one index lookup on (key, column) per outer row.
        `offset 0` keeps PostgreSQL from flattening the subquery into a join over the
        whole relation, which it prefers because it cannot know how recent `since` is.
        Pass a model, not a CTE: a CTE read twice is materialized and scanned whole per
        outer row. -#}
    cross join lateral (
        select candidate.*
        from {{ relation }} as candidate
        where
            candidate.{{ key }} = {{ outer }}.{{ key }}
            and candidate.{{ column }} >= {{ since }}
        offset 0
    ) as {{ alias }}
{% endmacro %}


{% macro analyze_after_full_build() %}
    {#- Post-hook: `analyze` an incremental model right after it was built whole (first
        build or --full-refresh); its incremental runs skip it (their few new rows do not
        move the statistics the index lookups need). -#}
    {%- if model.config.materialized == 'incremental' and not is_incremental() -%}
        analyze {{ this }}
    {%- endif -%}
{% endmacro %}
