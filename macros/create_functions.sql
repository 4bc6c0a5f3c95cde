{% macro create_functions() %}
    {#- Runs on-run-start: the helpers staging needs to parse tracker JSON without ever
        failing a build. PostgreSQL 16+ validates input with pg_input_is_valid (an
        inlinable SQL function); 15 has no such check, so there a PL/pgSQL function
        catches the cast error instead. -#}
    {%- if execute -%}
        {%- set version_num = run_query("show server_version_num").columns[0].values()[0] | int -%}
        create schema if not exists {{ adapter.quote(target.schema) }};
        {% if version_num >= 160000 -%}
            create or replace function {{ adapter.quote(target.schema) }}.try_jsonb(document text)
            returns jsonb language sql immutable parallel safe as $$
                select case when pg_input_is_valid(document, 'jsonb') then document::jsonb end
            $$;
        {%- else -%}
            create or replace function {{ adapter.quote(target.schema) }}.try_jsonb(document text)
            returns jsonb language plpgsql immutable parallel safe as $$
            begin
                return document::jsonb;
            exception when others then
                return null;
            end
            $$;
        {%- endif %}
    {%- endif -%}
{% endmacro %}
