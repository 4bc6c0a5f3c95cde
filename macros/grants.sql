{% macro personal_data_columns(node) %}
    {#- Names of the node's columns marked `meta: {contains_pii: true}` in its YAML. -#}
    {%- set found = [] -%}
    {%- for column in node.columns.values() -%}
        {%- if (column.meta or {}).get('contains_pii') or (column.config.meta or {}).get('contains_pii') -%}
            {%- do found.append(column.name | lower) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{% endmacro %}


{% macro personal_data_readers(node, column_name) %}
    {#- Roles that may read one personal-data column: the column meta `pii_readers` names
        them by their var (`[marketing]` is var marketing_role). -#}
    {%- set readers = [] -%}
    {%- set column = node.columns.get(column_name) -%}
    {%- if column -%}
        {%- set meta = (column.config.meta or {}) if column.config else {} -%}
        {%- for reader in meta.get('pii_readers', (column.meta or {}).get('pii_readers', [])) -%}
            {%- do readers.append(plain_name(var(reader ~ '_role'), 'var ' ~ reader ~ '_role')) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(readers) }}
{% endmacro %}


{% macro postgres__apply_grants(relation, grant_config, should_revoke=True) %}
    {#- dbt's grants, except that a relation with personal-data columns is never granted
        table-wide: whoever the `grants` config lets select from it gets its other columns,
        and a personal-data column goes only to the roles its meta `pii_readers` names.
        Runs where dbt applies grants, in the transaction that builds the relation, so a
        rebuilt table is never readable in full, nor unreadable, for a moment. -#}
    {%- set personal = personal_data_columns(model) if model is defined and model else [] -%}
    {%- if not personal -%}
        {% do return(default__apply_grants(relation, grant_config, should_revoke)) %}
    {%- endif -%}
    {%- set grant_config = grant_config or {} -%}
    {%- set other_privileges = {} -%}
    {%- set readers = [] -%}
    {%- for privilege, grantees in grant_config.items() -%}
        {%- if privilege | lower == 'select' -%}
            {%- for grantee in grantees -%}{%- do readers.append(plain_name(grantee, 'a grantee')) -%}{%- endfor -%}
        {%- else -%}
            {%- do other_privileges.update({privilege: grantees}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if other_privileges -%}
        {% do default__apply_grants(relation, other_privileges, should_revoke) %}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- set by_role = {} -%}
    {%- for column in columns -%}
        {%- set roles = personal_data_readers(model, column) if column in personal else readers -%}
        {%- for role in roles -%}
            {%- do by_role.setdefault(role, []).append(column) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set involved = (readers + by_role.keys() | list) | unique | list -%}
    {%- if involved -%}
        {%- set grantees = [] -%}
        {%- for role in involved -%}{%- do grantees.append(adapter.quote(role)) -%}{%- endfor -%}
        {%- set quoted_columns = [] -%}
        {%- for column in columns -%}{%- do quoted_columns.append(adapter.quote(column)) -%}{%- endfor -%}
        {% call statement('grants') %}
            revoke select on {{ relation.render() }} from {{ grantees | join(', ') }};
            revoke select ({{ quoted_columns | join(', ') }}) on {{ relation.render() }} from {{ grantees | join(', ') }};
            {% for role, granted in by_role.items() -%}
                {%- set names = [] -%}
                {%- for column in granted -%}{%- do names.append(adapter.quote(column)) -%}{%- endfor -%}
                grant select ({{ names | join(', ') }}) on {{ relation.render() }} to {{ adapter.quote(role) }};
            {% endfor %}
        {% endcall %}
    {%- endif -%}
{% endmacro %}


{% macro grant_reader_access() %}
    {{- return(adapter.dispatch('grant_reader_access', 'webshop')()) -}}
{% endmacro %}


{% macro default__grant_reader_access() %}
    {#- on-run-end: USAGE on every schema holding a relation that the `grants` config (or a
        personal-data column's pii_readers) opens to a role, so the roles reach what was
        granted to them and nothing else (staging, intermediate and raw stay closed). No
        default privileges: a new relation is readable only once its grants say so, and
        a model with personal data must never be readable in full. -#}
    {%- if execute -%}
        {%- set usage = {} -%}
        {%- for node in graph.nodes.values() if node.resource_type in ('model', 'snapshot', 'seed') -%}
            {%- set roles = [] -%}
            {%- for privilege, grantees in (node.config.grants or {}).items() -%}
                {%- do roles.extend(grantees) -%}
            {%- endfor -%}
            {%- for column in personal_data_columns(node) -%}
                {%- do roles.extend(personal_data_readers(node, column)) -%}
            {%- endfor -%}
            {%- for role in roles -%}
                {%- do usage.setdefault(node.schema, []).append(plain_name(role, 'a grantee')) -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- if usage -%}
            {%- set existing = run_query(
                "select nspname from pg_namespace where nspname in ('"
                ~ (usage.keys() | list | join("', '")) ~ "')"
            ).columns[0].values() -%}
            {%- for schema in existing | sort -%}
                {%- set grantees = [] -%}
                {%- for role in usage[schema] | unique | sort -%}{%- do grantees.append(adapter.quote(role)) -%}{%- endfor -%}
                grant usage on schema {{ adapter.quote(schema) }} to {{ grantees | join(', ') }};
            {% endfor -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
