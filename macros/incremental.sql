{% macro only_new_batches(extracted_at="_extracted_at") %}
    {#- In an incremental run, keep the source rows of the batches at or after the
        newest batch already in this model (the watermark lives in the target, so a full
        refresh computes the same thing). `>=` re-reads the newest batch: a re-delivery
        with the same batch moment is caught, and the anti-join drops what is known. -#}
    {%- if is_incremental() %}
        where {{ extracted_at }} >= (
            select coalesce(max(_extracted_at), '-infinity'::timestamptz) from {{ this }}
        )
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
