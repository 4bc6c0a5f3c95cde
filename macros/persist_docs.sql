{% macro postgres__persist_docs(relation, model, for_relation, for_columns) %}
    {#- dbt's persist_docs in one statement instead of two: the comment on the relation and
        those on its documented columns (the ones the relation has, as dbt's
        validate_doc_columns finds them: it warns about the others). Every model of the
        project persists its docs on every run, so at night this is a query less per model. -#}
    {%- set comments = [] -%}
    {%- if for_relation and config.persist_relation_docs() and model.description -%}
        {%- do comments.append(alter_relation_comment(relation, model.description)) -%}
    {%- endif -%}
    {%- if for_columns and config.persist_column_docs() and model.columns -%}
        {%- set existing_columns = adapter.get_columns_in_relation(relation) | map(attribute="name") | list -%}
        {%- do comments.append(alter_column_comment(
            relation, validate_doc_columns(relation, model.columns, existing_columns)
        )) -%}
    {%- endif -%}
    {%- set sql = comments | join('\n') -%}
    {%- if sql | trim -%}
        {%- do run_query(sql) -%}
    {%- endif -%}
{% endmacro %}


{% macro postgres__alter_column_comment(relation, column_dict) %}
    {#- dbt-postgres' own, without asking the database for the relation's columns a second
        time: persist_docs passes only the documented columns it found in the relation. -#}
    {%- for column_name in column_dict %}
        {%- set comment = column_dict[column_name]['description'] %}
    comment on column {{ relation }}.{{ adapter.quote(column_name) if column_dict[column_name]['quote'] else column_name }} is {{ postgres_escape_comment(comment) }};
    {%- endfor %}
{% endmacro %}
