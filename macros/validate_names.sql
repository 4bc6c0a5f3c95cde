{% macro plain_name(value, what, max_length=63) %}
    {#- `value` when it is a plain name (a-z, 0-9 and _, not starting with a digit, at most
        max_length characters); anything else stops dbt with one line before it reaches
        SQL (dbt's quoting does not escape a double quote inside a name). -#}
    {%- if not modules.re.fullmatch('[a-z_][a-z0-9_]*', value | string)
        or (value | string | length) > max_length -%}
        {{ exceptions.raise_compiler_error(
            what ~ " must be a plain name (a-z, 0-9 and _, not starting with a digit, at most "
            ~ max_length ~ " characters), not " ~ tojson(value | string)
        ) }}
    {%- endif -%}
    {{ return(value) }}
{% endmacro %}


{% macro validate_names() %}
    {#- Every name from the environment or vars that dbt puts into SQL as an identifier:
        checked at parse time (generate_schema_name) and again on-run-start. DBT_SCHEMA
        leaves room for the longest layer suffix (_intermediate). -#}
    {%- do plain_name(target.schema, 'DBT_SCHEMA (the target schema)', 50) -%}
    {%- if target.type != 'spark' -%}
        {#- (Spark has no database above its schemas) -#}
        {%- do plain_name(target.database, 'PGDATABASE (the target database)') -%}
    {%- endif -%}
    {%- do plain_name(var('raw_schema'), 'WEBSHOP_RAW_SCHEMA (the raw schema)') -%}
    {%- for role_var in ['analyst_role', 'marketing_role'] -%}
        {%- do plain_name(var(role_var), 'var ' ~ role_var) -%}
    {%- endfor -%}
{% endmacro %}


{% macro generate_schema_name(custom_schema_name, node) -%}
    {#- dbt's default schema names (<target schema>_<custom schema>), after checking the
        names: this runs while dbt parses, before it creates any schema. -#}
    {%- do validate_names() -%}
    {{ return(default__generate_schema_name(custom_schema_name, node)) }}
{%- endmacro %}
