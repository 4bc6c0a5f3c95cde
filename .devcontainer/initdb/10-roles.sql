-- The webshop warehouse's roles and privileges for database webshop, raw schema raw
-- (`webshop db roles --sql`). Run it in that database as a superuser, or as a role with
-- CREATEROLE that owns the database: psql -v ON_ERROR_STOP=1 -d webshop -f roles.sql
-- It is idempotent: run it again after an upgrade. Then give each login role a password
-- (psql: \password webshop_loader, ...) and put them in the users' passfiles.
-- dbt grants what it builds (dbt_project.yml `grants`, macros/grants.sql).

-- roles
do $$ begin
    if not exists (select from pg_roles where rolname = 'webshop_raw_owner') then
        create role "webshop_raw_owner";
    end if;
end $$;
do $$ begin
    if not exists (select from pg_roles where rolname = 'webshop_loader') then
        create role "webshop_loader";
    end if;
end $$;
do $$ begin
    if not exists (select from pg_roles where rolname = 'webshop_transformer') then
        create role "webshop_transformer";
    end if;
end $$;
do $$ begin
    if not exists (select from pg_roles where rolname = 'webshop_analyst') then
        create role "webshop_analyst";
    end if;
end $$;
do $$ begin
    if not exists (select from pg_roles where rolname = 'webshop_marketing') then
        create role "webshop_marketing";
    end if;
end $$;
alter role "webshop_raw_owner" nologin nosuperuser nocreatedb nocreaterole noreplication nobypassrls;
alter role "webshop_loader" login nosuperuser nocreatedb nocreaterole noreplication nobypassrls connection limit -1;
alter role "webshop_transformer" login nosuperuser nocreatedb nocreaterole noreplication nobypassrls connection limit -1;
alter role "webshop_analyst" login nosuperuser nocreatedb nocreaterole noreplication nobypassrls connection limit 20;
alter role "webshop_marketing" login nosuperuser nocreatedb nocreaterole noreplication nobypassrls connection limit 5;
alter role "webshop_loader" set timezone = 'UTC';
alter role "webshop_transformer" set timezone = 'UTC';
alter role "webshop_analyst" set "default_transaction_read_only" = 'on';
alter role "webshop_analyst" set "statement_timeout" = '5min';
alter role "webshop_analyst" set "idle_in_transaction_session_timeout" = '15min';
alter role "webshop_analyst" set "timezone" = 'UTC';
alter role "webshop_marketing" set "default_transaction_read_only" = 'on';
alter role "webshop_marketing" set "statement_timeout" = '5min';
alter role "webshop_marketing" set "idle_in_transaction_session_timeout" = '15min';
alter role "webshop_marketing" set "timezone" = 'UTC';
grant "webshop_analyst" to "webshop_marketing";
do $$ begin
    if not (select rolsuper from pg_roles where rolname = current_user) then
        execute format('grant %I to %I', 'webshop_raw_owner', current_user);
    end if;
end $$;


-- database webshop
revoke all on database "webshop" from public;
grant connect on database "webshop" to "webshop_loader", "webshop_transformer", "webshop_analyst", "webshop_marketing";
grant create, temporary on database "webshop" to "webshop_transformer";
do $$ begin
    if exists (select from pg_namespace where nspname = 'public') then
        revoke create on schema public from public;
    end if;
end $$;


-- raw tables (schema raw) and the loader's bookkeeping
create schema if not exists "raw" authorization "webshop_raw_owner";
alter schema "raw" owner to "webshop_raw_owner";
create schema if not exists "webshop_loader" authorization "webshop_raw_owner";
alter schema "webshop_loader" owner to "webshop_raw_owner";
create table if not exists "raw"."customer" (
    "id" bigint,
    "first_name" text,
    "last_name" text,
    "email" text,
    "phone" text,
    "street" text,
    "postal_code" text,
    "city" text,
    "country_code" text,
    "created_at" timestamp with time zone,
    "updated_at" timestamp with time zone,
    "deleted_at" timestamp with time zone,
    "_extracted_at" timestamp with time zone not null
);
alter table "raw"."customer" owner to "webshop_raw_owner";
drop index if exists "raw"."customer__extracted_at";
create index if not exists "customer__batch" on "raw"."customer" (_extracted_at);
create table if not exists "raw"."product" (
    "id" bigint,
    "sku" text,
    "name" text,
    "category" text,
    "price" numeric(12,2),
    "stock_quantity" integer,
    "is_active" boolean,
    "created_at" timestamp with time zone,
    "updated_at" timestamp with time zone,
    "_extracted_at" timestamp with time zone not null
);
alter table "raw"."product" owner to "webshop_raw_owner";
drop index if exists "raw"."product__extracted_at";
create index if not exists "product__batch" on "raw"."product" (_extracted_at);
create table if not exists "raw"."voucher" (
    "id" bigint,
    "code" text,
    "discount_type" text,
    "discount_value" numeric(12,2),
    "valid_from" timestamp with time zone,
    "valid_until" timestamp with time zone,
    "created_at" timestamp with time zone,
    "updated_at" timestamp with time zone,
    "_extracted_at" timestamp with time zone not null
);
alter table "raw"."voucher" owner to "webshop_raw_owner";
drop index if exists "raw"."voucher__extracted_at";
create index if not exists "voucher__batch" on "raw"."voucher" (_extracted_at);
create table if not exists "raw"."orders" (
    "id" bigint,
    "customer_id" bigint,
    "voucher_id" bigint,
    "status" text,
    "created_at" timestamp with time zone,
    "updated_at" timestamp with time zone,
    "_extracted_at" timestamp with time zone not null
);
alter table "raw"."orders" owner to "webshop_raw_owner";
drop index if exists "raw"."orders__extracted_at";
create index if not exists "orders__batch" on "raw"."orders" (_extracted_at);
create table if not exists "raw"."order_line" (
    "id" bigint,
    "order_id" bigint,
    "product_id" bigint,
    "quantity" integer,
    "unit_price" numeric(12,2),
    "discount_amount" numeric(12,2),
    "created_at" timestamp with time zone,
    "updated_at" timestamp with time zone,
    "_extracted_at" timestamp with time zone not null
);
alter table "raw"."order_line" owner to "webshop_raw_owner";
drop index if exists "raw"."order_line__extracted_at";
create index if not exists "order_line__batch" on "raw"."order_line" (_extracted_at);
create table if not exists "raw"."event" (
    "id" bigint,
    "event_type" text,
    "event_timestamp" timestamp with time zone,
    "event_data" text,
    "_extracted_at" timestamp with time zone not null
);
alter table "raw"."event" owner to "webshop_raw_owner";
drop index if exists "raw"."event__extracted_at";
create index if not exists "event__batch" on "raw"."event" (_extracted_at);
create table if not exists "webshop_loader"."config" (settings jsonb not null);
alter table "webshop_loader"."config" owner to "webshop_raw_owner";
create table if not exists "webshop_loader"."batch" (day integer not null, delivery integer not null, extracted_at timestamptz not null, rows jsonb not null, loaded_at timestamptz not null default now(), primary key (day, delivery));
alter table "webshop_loader"."batch" owner to "webshop_raw_owner";
create table if not exists "webshop_loader"."state" (day integer not null, snapshot bytea not null);
alter table "webshop_loader"."state" owner to "webshop_raw_owner";
grant usage on schema "raw" to "webshop_loader", "webshop_transformer";
grant insert on table "raw"."customer", "raw"."product", "raw"."voucher", "raw"."orders", "raw"."order_line", "raw"."event" to "webshop_loader";
grant select on table "raw"."customer", "raw"."product", "raw"."voucher", "raw"."orders", "raw"."order_line", "raw"."event" to "webshop_transformer";
grant usage on schema "webshop_loader" to "webshop_loader", "webshop_transformer";
grant select, insert on table "webshop_loader"."config", "webshop_loader"."batch" to "webshop_loader";
grant select, insert, delete on table "webshop_loader"."state" to "webshop_loader";
grant select on table "webshop_loader"."config", "webshop_loader"."batch" to "webshop_transformer";
