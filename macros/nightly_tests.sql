{#- Tests that cost the night.

    An incremental run writes the rows of a few units (customers, products, versions, event
    ids: the model's unique_key); the rest of the table was tested when it was written. So
    each incremental model keeps, in `<target schema>.<model>__written`, the units its
    latest run wrote (the incremental strategies below record them in the transaction that
    writes the rows), and a data test on that model reads only the rows of those units
    (get_where_subquery), through the index on the unit. A unique test on another column
    reads every row that shares a value with the units written, so a new key is checked
    against all the old ones. After a full build there is no such table: the tests read
    everything. `--vars '{full_tests: true}'` makes every test read everything, whatever
    the last run was (the weekly check, and `make test`). -#}

{% macro written_units_relation(model_name) -%}
    {{ adapter.quote(target.schema) }}.{{ adapter.quote(model_name ~ '__written') }}
{%- endmacro %}


{% macro record_written_units(temp_relation, unique_key, since=none) %}
    {#- SQL: the units (unique_key values) an incremental run writes, and for a model that
        replaces each unit's rows from some point on (strategy replace_from), that point:
        kept, and analyzed, for the tests. -#}
    {%- set written = written_units_relation(model.name) -%}
    {%- do note_written_units(true) -%}
    drop table if exists {{ written }};
    create table {{ written }} as
    select
        {{ unique_key }} as written_unit
        {%- if since %},
        min({{ since }}) as written_from
        {%- endif %}
    from {{ temp_relation }}
    group by {{ unique_key }};
    analyze {{ written }};
{% endmacro %}


{% macro forget_written_units() %}
    {{- return(adapter.dispatch('forget_written_units', 'webshop')()) -}}
{% endmacro %}


{% macro default__forget_written_units() %}
    {#- Post-hook part: a model built whole has no units of its latest run (tests read all). -#}
    {%- if model.config.materialized == 'incremental' and not is_incremental() -%}
        {%- do note_written_units(false) -%}
        drop table if exists {{ written_units_relation(model.name) }}
    {%- endif -%}
{% endmacro %}


{% macro postgres__get_incremental_delete_insert_sql(arg_dict) %}
    {#- dbt's delete+insert, which also records the units it writes. When an index starts
        with the (one-column) unique key, the delete looks the new keys up in it
        (`= any(array(...))`): as dbt's `in (select ...)` PostgreSQL plans a hash join over
        the whole table whenever it expects many keys (tens of thousands of new event ids)
        or cannot count them (a batch moment that 40k new rows share counts as 200 keys
        in an unanalyzed table). -#}
    {%- set key = arg_dict["unique_key"] -%}
    {%- if key is string and key in leading_index_columns(model) and not arg_dict["incremental_predicates"] %}
    delete from {{ arg_dict["target_relation"] }} as existing
    where existing.{{ key }} = any(array(
        select distinct new_rows.{{ key }} from {{ arg_dict["temp_relation"] }} as new_rows
    ));
    {{ get_delete_insert_merge_sql(
        arg_dict["target_relation"], arg_dict["temp_relation"], none, arg_dict["dest_columns"], none
    ) }};
    {%- else %}
    {{ get_delete_insert_merge_sql(
        arg_dict["target_relation"], arg_dict["temp_relation"], arg_dict["unique_key"],
        arg_dict["dest_columns"], arg_dict["incremental_predicates"]
    ) }};
    {%- endif %}
    {{ record_written_units(arg_dict["temp_relation"], arg_dict["unique_key"]) }}
{% endmacro %}


{% macro tested_node() %}
    {#- The model a generic test is attached to, or none. -#}
    {%- set attached = model.get('attached_node') if model is mapping else none -%}
    {{ return(graph.nodes.get(attached) if attached else none) }}
{% endmacro %}


{% macro incremental_source_of(node) %}
    {#- The incremental model whose written units describe `node`'s new rows: the node
        itself, or the incremental model a view selects from. -#}
    {%- if node.config.materialized == 'incremental' -%}
        {{ return(node) }}
    {%- elif node.config.materialized == 'view' -%}
        {%- for parent_id in node.depends_on.nodes -%}
            {%- set parent = graph.nodes.get(parent_id) -%}
            {%- if parent and parent.resource_type == 'model' and parent.config.materialized == 'incremental' -%}
                {{ return(parent) }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(none) }}
{% endmacro %}


{% macro tonight_source() %}
    {#- The incremental model whose units written by its latest run the current test reads
        (the tested model, or the one a tested view selects from); none when the test reads
        everything. -#}
    {%- if not execute or var('full_tests', false) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set node = tested_node() -%}
    {%- set source = incremental_source_of(node) if node else none -%}
    {%- set unit = source.config.get('unique_key') if source else none -%}
    {%- if not unit or unit is not string -%}
        {{ return(none) }}
    {%- endif -%}
    {#- noted by this build, or asked of the database (not dbt's relation cache: the table
        comes and goes in the run) -#}
    {%- if not written_units_exist(written_units_relation(source.name), source) -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(source) }}
{% endmacro %}


{% macro rows_written_tonight(relation) %}
    {#- SQL selecting the rows of `relation` (the model under test) that its latest
        incremental run wrote, read through the index on the unit; '' when the test must
        read everything. -#}
    {%- set source = tonight_source() -%}
    {%- if source is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set unit = source.config.get('unique_key') -%}
    {%- set written = written_units_relation(source.name) -%}
    {%- set since = source.config.get('replace_from_column') -%}
    {%- set rows -%}
        {%- if since %}
        select written_rows.*
        from {{ written }} as written
        {{ lateral_rows(
            relation=relation, key=unit, outer='written', alias='written_rows',
            outer_key='written_unit', column=since, since='written.written_from'
        ) }}
        {%- else %}
        {#- every row of the units: one index scan for all of them (a lookup per unit
            costs three to four times as much) #}
        select written_rows.*
        from {{ relation }} as written_rows
        where written_rows.{{ unit }} = any(array(select written.written_unit from {{ written }} as written))
        {%- endif %}
    {%- endset -%}
    {%- set test = model.get('test_metadata') or {} -%}
    {%- set column = (test.get('kwargs') or {}).get('column_name') -%}
    {%- if test.get('name') == 'unique' and column and column != unit -%}
        {#- every row that shares a value with a row written tonight -#}
        {%- set rows -%}
            select shared.*
            from (select distinct tonight.{{ column }} from ({{ rows }}) as tonight) as tonight_values
            {{ lateral_rows(relation=relation, key=column, outer='tonight_values', alias='shared') }}
        {%- endset -%}
    {%- endif -%}
    {{ return(rows) }}
{% endmacro %}


{% macro note_written_units(exist) %}
    {#- What the model being built leaves of its written units (the table or none), for the
        tests of the same invocation: they need not ask the database. -#}
    {%- do graph.setdefault('webshop_written_units', {}).update(
        {invocation_id ~ ' ' ~ model.unique_id: exist}
    ) -%}
{% endmacro %}


{% macro written_units_exist(written, node) %}
    {#- As noted when `node` was built in this invocation (`dbt build`), else asked once
        and noted for the other tests of the invocation (a `dbt test` builds nothing). -#}
    {%- set key = invocation_id ~ ' ' ~ node.unique_id -%}
    {%- set noted = graph.setdefault('webshop_written_units', {}) -%}
    {%- if noted.get(key) is none -%}
        {%- do noted.update({key: adapter.dispatch('written_units_exist', 'webshop')(written)}) -%}
    {%- endif -%}
    {{- return(noted[key]) -}}
{% endmacro %}


{% macro default__written_units_exist(written) %}
    {#- Whether the table of written units `written` exists now. -#}
    {{- return(run_query("select to_regclass('" ~ written | replace("'", "''") ~ "') is not null").columns[0].values()[0] is true) -}}
{% endmacro %}


{% macro get_where_subquery(relation) -%}
    {#- dbt's test filter (the `where` config), reading only the rows of tonight's units
        when the model was built incrementally (see above). -#}
    {%- set where = config.get('where', '') -%}
    {%- set tonight = rows_written_tonight(relation) -%}
    {%- if tonight -%}
        (select * from ({{ tonight }}) as tonight{% if where %} where {{ where }}{% endif %}) dbt_subquery
    {%- elif where -%}
        (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}


{% macro leading_index_columns(node) %}
    {#- The columns that lead an index of model `node` on PostgreSQL: its `indexes` config,
        and the columns of its enforced primary key or unique constraints. -#}
    {%- set leading = (node.config.get('indexes') or []) | map(attribute='columns') | map('first') | list -%}
    {%- if node.config.get('contract', {}).get('enforced') -%}
        {%- for column in node.columns.values() -%}
            {%- if (column.get('constraints') or []) | selectattr('type', 'in', ['primary_key', 'unique']) | list -%}
                {%- do leading.append(column.name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(leading) }}
{% endmacro %}


{% macro indexed_model_on(relation, column) %}
    {#- Whether `relation` is a model of this project with an index led by `column`. -#}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.relation_name == relation.render() -%}
            {{ return(column in leading_index_columns(node)) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{% endmacro %}


{% macro postgres__test_relationships(model, column_name, to, field) %}
    {#- dbt's relationships test. At night, when the child is read as the rows written
        tonight (rows_written_tonight) and the parent has an index on `field`, each child
        row is looked up in that index: PostgreSQL cannot count tonight's rows (it expected
        416k of 44k) and otherwise hashes the whole parent (720k sessions: 0.27 s of the
        test's 0.33). -#}
    {%- if tonight_source() is none or not indexed_model_on(to, field) -%}
        {{ return(dbt.default__test_relationships(model, column_name, to, field)) }}
    {%- endif %}

select child.from_field
from (
    select {{ column_name }} as from_field
    from {{ model }}
    where {{ column_name }} is not null
) as child
left join lateral (
    select true as found
    from {{ to }} as parent
    where parent.{{ field }} = child.from_field
    limit 1
) as parent on true
where parent.found is null

{% endmacro %}
