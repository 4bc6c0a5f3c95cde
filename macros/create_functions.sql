{% macro create_functions() %}
    {{- return(adapter.dispatch('create_functions', 'webshop')()) -}}
{% endmacro %}


{% macro default__create_functions() %}
    {#- Runs on-run-start: the helpers staging needs to parse tracker JSON without ever
        failing a build: try_jsonb (any JSON) and try_json_object (only an object), null
        for anything else, and for documents longer than var('max_event_data_length')
        (a deeply nested document can exhaust the server's stack inside
        pg_input_is_valid, a hard error no check catches); and unicode_trim(text), trim()
        for every kind of white space (an inlined SQL function, as cheap as btrim). Declared stable like pg_input_is_valid, so that PostgreSQL
        inlines the SQL versions (an immutable wrapper around a stable call is not inlined,
        and a call that is not inlined costs several times the parse). PostgreSQL 16+ validates input with pg_input_is_valid (an
        inlinable SQL function; `is json object` first, a pass of the lexer that builds
        nothing, and the length in bytes before the length in characters, which bounds
        it without counting); 15 has no such check, so there a PL/pgSQL function
        catches the cast error instead. -#}
    {%- if execute -%}
        {%- set max_length = var('max_event_data_length') | int -%}
        {%- set version_num = run_query("show server_version_num").columns[0].values()[0] | int -%}
        create schema if not exists {{ adapter.quote(target.schema) }};
        create or replace function {{ adapter.quote(target.schema) }}.unicode_trim(value text)
        returns text language sql immutable parallel safe as $$
            select btrim(value, {{ unicode_whitespace() }})
        $$;
        {% if version_num >= 160000 -%}
            create or replace function {{ adapter.quote(target.schema) }}.try_jsonb(document text)
            returns jsonb language sql stable parallel safe as $$
                select case
                    when octet_length(document) > {{ max_length }}
                        and length(document) > {{ max_length }} then null
                    when pg_input_is_valid(document, 'jsonb') then document::jsonb
                end
            $$;
            create or replace function {{ adapter.quote(target.schema) }}.try_json_object(document text)
            returns jsonb language sql stable parallel safe as $$
                select case
                    when octet_length(document) > {{ max_length }}
                        and length(document) > {{ max_length }} then null
                    when document is json object and pg_input_is_valid(document, 'jsonb')
                        then document::jsonb
                end
            $$;
        {%- else -%}
            create or replace function {{ adapter.quote(target.schema) }}.try_jsonb(document text)
            returns jsonb language plpgsql stable parallel safe as $$
            begin
                if length(document) > {{ max_length }} then
                    return null;
                end if;
                return document::jsonb;
            exception when others then
                return null;
            end
            $$;
            create or replace function {{ adapter.quote(target.schema) }}.try_json_object(document text)
            returns jsonb language plpgsql stable parallel safe as $$
            declare
                parsed jsonb;
            begin
                if length(document) > {{ max_length }} then
                    return null;
                end if;
                parsed := document::jsonb;
                return case when jsonb_typeof(parsed) = 'object' then parsed end;
            exception when others then
                return null;
            end
            $$;
        {%- endif %}
    {%- endif -%}
{% endmacro %}
