-- Run once by the postgres image when its data folder is new (docker-compose.yml mounts it in
-- /docker-entrypoint-initdb.d). Three roles, each with one job (SECURITY.md, "Database roles"):
--   app_owner     owns the schema; only the migration job logs in as it (DATABASE_MIGRATION_URL)
--   app           the servers (DATABASE_URL): owns nothing; the migrations grant it what it needs,
--                 and only INSERT and SELECT on the audit trail
--   audit_purger  no login; owns the retention function, the one way to delete audit rows
-- The passwords are for a local trial: set your own (and keep app_owner's out of the servers).
CREATE ROLE app_owner LOGIN PASSWORD 'app_owner';
CREATE ROLE app LOGIN PASSWORD 'app';
CREATE ROLE audit_purger NOLOGIN;
-- The migration hands the retention function to audit_purger: the owner must be able to act as it.
GRANT audit_purger TO app_owner;
CREATE DATABASE app OWNER app_owner;
REVOKE ALL ON DATABASE app FROM PUBLIC;
GRANT CONNECT ON DATABASE app TO app;
