-- One login role per service, owner of its schema and nothing else.
-- Run as a superuser (or the database owner) in the platform's database, with psql:
--   psql "$ADMIN_URL" -v ON_ERROR_STOP=1 \
--     -v identity_password=... -v correspondence_password=... \
--     -v complaints_password=... -v pensions_password=... -f roles.sql
-- Idempotent: run it again to change a password.
\set ON_ERROR_STOP on

-- Nobody but the roles below creates anything in public.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database()) \gexec

SELECT format('CREATE ROLE %I LOGIN', name)
FROM (VALUES ('marfiq_identity'), ('marfiq_correspondence'), ('marfiq_complaints'),
             ('marfiq_pensions')) AS roles(name)
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name) \gexec

ALTER ROLE marfiq_identity PASSWORD :'identity_password';
ALTER ROLE marfiq_correspondence PASSWORD :'correspondence_password';
ALTER ROLE marfiq_complaints PASSWORD :'complaints_password';
ALTER ROLE marfiq_pensions PASSWORD :'pensions_password';

-- Each role owns its schema (tables, sequences, its alembic_version) and sees only it.
-- CREATE on the database is needed by the migrations' `CREATE SCHEMA IF NOT EXISTS`
-- (Postgres checks the privilege before the existence); it lets a role make a new schema
-- of its own, never enter another's: schemas are closed to non-owners by default.
SELECT format('GRANT CONNECT, TEMPORARY, CREATE ON DATABASE %I TO %I', current_database(), name)
FROM (VALUES ('marfiq_identity'), ('marfiq_correspondence'), ('marfiq_complaints'),
             ('marfiq_pensions')) AS roles(name) \gexec

CREATE SCHEMA IF NOT EXISTS identity AUTHORIZATION marfiq_identity;
CREATE SCHEMA IF NOT EXISTS correspondence AUTHORIZATION marfiq_correspondence;
CREATE SCHEMA IF NOT EXISTS complaints AUTHORIZATION marfiq_complaints;
CREATE SCHEMA IF NOT EXISTS pensions AUTHORIZATION marfiq_pensions;
-- Schemas made earlier by a superuser (a first `marfiq migrate` as postgres) change hands.
ALTER SCHEMA identity OWNER TO marfiq_identity;
ALTER SCHEMA correspondence OWNER TO marfiq_correspondence;
ALTER SCHEMA complaints OWNER TO marfiq_complaints;
ALTER SCHEMA pensions OWNER TO marfiq_pensions;
-- ... and so do the tables, sequences and views in them.
SELECT format('ALTER %s %I.%I OWNER TO %I',
              CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                             WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
              n.nspname, c.relname, 'marfiq_' || n.nspname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('identity', 'correspondence', 'complaints', 'pensions')
  AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
  AND pg_get_userbyid(c.relowner) <> 'marfiq_' || n.nspname
  AND NOT (c.relkind = 'S' AND EXISTS (  -- identity/serial sequences follow their table
      SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))) \gexec
SELECT format('ALTER TYPE %I.%I OWNER TO %I', n.nspname, t.typname, 'marfiq_' || n.nspname)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname IN ('identity', 'correspondence', 'complaints', 'pensions')
  AND t.typtype = 'e' AND pg_get_userbyid(t.typowner) <> 'marfiq_' || n.nspname \gexec

ALTER ROLE marfiq_identity SET search_path = identity;
ALTER ROLE marfiq_correspondence SET search_path = correspondence;
ALTER ROLE marfiq_complaints SET search_path = complaints;
ALTER ROLE marfiq_pensions SET search_path = pensions;
