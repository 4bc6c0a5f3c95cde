{% macro postgres__persist_docs(relation, model, for_relation, for_columns) %}
    {#- dbt's persist_docs, commenting only what differs from the comments the relation
        has: the relation and its documented columns (the ones the relation has, as dbt's
        validate_doc_columns finds them: it warns about the others), in one statement.
        Every model persists its docs on every run; at night nothing has changed, and a
        COMMENT would wait for any autovacuum of the table to be cancelled (deadlock_timeout,
        1 s) and rewrite the catalog's rows. One query reads the columns and their comments. -#}
    {%- set relation_docs = for_relation and config.persist_relation_docs() and model.description -%}
    {%- set column_docs = for_columns and config.persist_column_docs() and model.columns -%}
    {%- if not (relation_docs or column_docs) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set described = run_query(persisted_comments_sql(relation)) -%}
    {%- set current = {} -%}
    {%- for row in described -%}
        {%- do current.update({row[0]: row[1] or ''}) -%}
    {%- endfor -%}
    {%- set comments = [] -%}
    {%- if relation_docs and current.get('') != model.description -%}
        {%- do comments.append(alter_relation_comment(relation, model.description)) -%}
    {%- endif -%}
    {%- if column_docs -%}
        {%- set columns = described | map(attribute=0) | reject('equalto', '') | list -%}
        {%- set changed = {} -%}
        {%- for name, column in validate_doc_columns(relation, model.columns, columns).items() -%}
            {%- if current.get(name if column.quote else name | lower) != (column.description or '') -%}
                {%- do changed.update({name: column}) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if changed -%}
            {%- do comments.append(alter_column_comment(relation, changed)) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if comments -%}
        {%- do run_query(comments | join('\n')) -%}
    {%- endif -%}
{% endmacro %}


{% macro persisted_comments_sql(relation) %}
    {#- The comment on `relation` (name '') and each column's, '' for none: read from the
        catalog without a lock on the relation. -#}
    select '' as name, coalesce(obj_description(rel.oid, 'pg_class'), '') as comment
    from (select '{{ relation }}'::regclass::oid as oid) as rel
    union all
    select attname::text, coalesce(col_description(attrelid, attnum), '')
    from pg_attribute
    where attrelid = '{{ relation }}'::regclass and attnum > 0 and not attisdropped
{% endmacro %}


{% macro postgres__alter_column_comment(relation, column_dict) %}
    {#- dbt-postgres' own, without asking the database for the relation's columns a second
        time: persist_docs passes only the documented columns it found in the relation. -#}
    {%- for column_name in column_dict %}
        {%- set comment = column_dict[column_name]['description'] %}
    comment on column {{ relation }}.{{ adapter.quote(column_name) if column_dict[column_name]['quote'] else column_name }} is {{ postgres_escape_comment(comment) }};
    {%- endfor %}
{% endmacro %}
