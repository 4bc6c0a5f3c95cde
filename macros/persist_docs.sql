{% macro postgres__alter_column_comment(relation, column_dict) %}
    {#- dbt-postgres' own, without asking the database for the relation's columns a second
        time: persist_docs, its only caller, passes only the documented columns it found in
        the relation (validate_doc_columns). A query and its context less per model. -#}
    {%- for column_name in column_dict %}
        {%- set comment = column_dict[column_name]['description'] %}
    comment on column {{ relation }}.{{ adapter.quote(column_name) if column_dict[column_name]['quote'] else column_name }} is {{ postgres_escape_comment(comment) }};
    {%- endfor %}
{% endmacro %}
