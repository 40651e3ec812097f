"""Access control and audit trail: users, API tokens, an append-only audit log filled by triggers.

Every write to a data table is recorded by a statement-level trigger (one set-based INSERT per statement,
so bulk loads stay fast) with the actor the web request put in the session settings ``geo_app.actor`` /
``geo_app.actor_role`` (see geo_app.auth.context); writes from scripts fall back to the database user.
The audit log refuses UPDATE, DELETE and TRUNCATE. Personal data of callers is never copied into it:
redacted columns are recorded as changed or unchanged only.

Another migration can audit its own table with ``SELECT audit_enable('table', 'id column', '{redacted}')``.

Revision ID: 0007
Revises: 0001
"""

from alembic import op

revision = "0007"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,62}$'),
    display_name text NOT NULL DEFAULT '',
    role text NOT NULL CHECK (role IN ('admin', 'perencana', 'supervisor_112', 'call_taker_112', 'dlh',
                                       'opd_editor', 'public')),
    opd text,
    password_hash text,
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (role <> 'opd_editor' OR opd IS NOT NULL)
);

-- Bearer tokens for scripts and one-time sign-in links; only a SHA-256 of the secret is stored.
CREATE TABLE api_tokens (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL DEFAULT 'api' CHECK (kind IN ('api', 'login_link')),
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    label text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    actor_role text,
    action text NOT NULL
        CHECK (action IN ('insert', 'update', 'delete', 'truncate', 'sign_in', 'sign_out')),
    entity text NOT NULL,
    entity_id text,
    before jsonb,
    after jsonb,
    txid bigint NOT NULL DEFAULT txid_current()
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id, id);
CREATE INDEX audit_log_at_idx ON audit_log (at);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;

-- The SQL expression that turns a transition-table row into audit JSON: geometry as GeoJSON, redacted
-- columns replaced by a marker (only whether they hold a value is kept).
CREATE FUNCTION audit_row_sql(alias text, has_geom boolean, redacted text[]) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN cardinality(redacted) = 0 THEN format('to_jsonb(%s)', alias)
                ELSE format('((to_jsonb(%1$s) - %2$L::text[]) || (SELECT coalesce(jsonb_object_agg(c, '
                            '%3$L), %4$L) FROM unnest(%2$L::text[]) AS c '
                            'WHERE to_jsonb(%1$s) ->> c IS NOT NULL))',
                            alias, redacted, '[personal data]', '{}') END
        || CASE WHEN has_geom
                THEN format(' || jsonb_build_object(%L, ST_AsGeoJSON(%s.geom, 7)::jsonb)', 'geom', alias)
                ELSE '' END
$$;

CREATE FUNCTION audit_actor() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('geo_app.actor', true), ''), 'db:' || session_user)
$$;

-- Statement-level: OLD/NEW rows arrive as transition tables; one INSERT ... SELECT per statement.
-- TG_ARGV[0] is the id column, TG_ARGV[1] a '{...}' list of redacted columns. A statement that changes
-- more rows than geo_app.audit_full_rows (default 10,000: bulk loads, which keep their own source
-- record) is recorded as one summary entry: who, when, how many rows, the lowest and highest id.
CREATE FUNCTION audit_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    id_column text := TG_ARGV[0];
    redacted text[] := coalesce(TG_ARGV[1], '{}')::text[];
    full_rows bigint := coalesce(nullif(current_setting('geo_app.audit_full_rows', true), '')::bigint,
                                 10000);
    changed_table text := CASE TG_OP WHEN 'DELETE' THEN 'old_rows' ELSE 'new_rows' END;
    common text := 'audit_actor(), nullif(current_setting(''geo_app.actor_role'', true), ''''), '
                   || quote_literal(lower(TG_OP)) || ', ' || quote_literal(TG_TABLE_NAME);
    has_geom boolean;
    changed bigint;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        EXECUTE 'INSERT INTO audit_log (actor, actor_role, action, entity) SELECT ' || common;
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT count(*) FROM %I', changed_table) INTO changed;
    IF changed = 0 THEN
        RETURN NULL;
    END IF;
    IF changed > full_rows THEN
        EXECUTE format('INSERT INTO audit_log (actor, actor_role, action, entity, after) SELECT %1$s,'
                       ' jsonb_build_object(%4$L, count(*), %5$L, min(%2$I)::text, %6$L, max(%2$I)::text)'
                       ' FROM %3$I', common, id_column, changed_table, 'rows', 'lowest_id', 'highest_id');
        RETURN NULL;
    END IF;
    has_geom := EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = TG_RELID AND attname = 'geom'
                        AND NOT attisdropped);
    IF TG_OP = 'INSERT' THEN
        EXECUTE format('INSERT INTO audit_log (actor, actor_role, action, entity, entity_id, after)'
                       ' SELECT %s, n.%I::text, %s FROM new_rows AS n',
                       common, id_column, audit_row_sql('n', has_geom, redacted));
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE format('INSERT INTO audit_log (actor, actor_role, action, entity, entity_id, before)'
                       ' SELECT %s, o.%I::text, %s FROM old_rows AS o',
                       common, id_column, audit_row_sql('o', has_geom, redacted));
    ELSE
        EXECUTE format('INSERT INTO audit_log (actor, actor_role, action, entity, entity_id, before, after)'
                       ' SELECT %1$s, n.%2$I::text, %3$s, %4$s'
                       ' FROM new_rows AS n JOIN old_rows AS o ON o.%2$I = n.%2$I',
                       common, id_column, audit_row_sql('o', has_geom, redacted),
                       audit_row_sql('n', has_geom, redacted));
    END IF;
    RETURN NULL;
END $$;

-- Attach the audit triggers to a table (idempotent).
CREATE FUNCTION audit_enable(target regclass, id_column text, redacted text[] DEFAULT '{}')
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    args text := format('%L, %L', id_column, redacted::text);
BEGIN
    EXECUTE format('DROP TRIGGER IF EXISTS audit_insert ON %s', target);
    EXECUTE format('DROP TRIGGER IF EXISTS audit_update ON %s', target);
    EXECUTE format('DROP TRIGGER IF EXISTS audit_delete ON %s', target);
    EXECUTE format('DROP TRIGGER IF EXISTS audit_truncate ON %s', target);
    EXECUTE format('CREATE TRIGGER audit_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION audit_statement(%s)', target, args);
    EXECUTE format('CREATE TRIGGER audit_update AFTER UPDATE ON %s
                    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION audit_statement(%s)', target, args);
    EXECUTE format('CREATE TRIGGER audit_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION audit_statement(%s)', target, args);
    EXECUTE format('CREATE TRIGGER audit_truncate AFTER TRUNCATE ON %s
                    FOR EACH STATEMENT EXECUTE FUNCTION audit_statement(%s)', target, args);
END $$;

SELECT audit_enable('cities', 'code');
SELECT audit_enable('admin_areas', 'code');
SELECT audit_enable('assets', 'id');
SELECT audit_enable('incidents', 'id');
SELECT audit_enable('incident_callers', 'incident_id', '{caller_name,caller_phone}');
SELECT audit_enable('green_areas', 'version_id');
SELECT audit_enable('road_nodes', 'id');
SELECT audit_enable('roads', 'id');
SELECT audit_enable('gazetteer', 'id');
SELECT audit_enable('dataset_loads', 'id');
SELECT audit_enable('users', 'id', '{password_hash}');
SELECT audit_enable('api_tokens', 'id', '{token_hash}');

-- An opd_editor (the web request sets geo_app.actor_role/actor_opd) edits only its own OPD's assets,
-- whichever endpoint or import does the write.
CREATE FUNCTION assets_opd_scope() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    actor_opd text := current_setting('geo_app.actor_opd', true);
BEGIN
    IF coalesce(current_setting('geo_app.actor_role', true), '') <> 'opd_editor' THEN
        RETURN coalesce(NEW, OLD);
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.owner_opd IS DISTINCT FROM actor_opd THEN
        RAISE EXCEPTION 'asset % belongs to OPD %; an editor of % may only change that OPD''s assets',
            OLD.id, OLD.owner_opd, actor_opd USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.owner_opd IS DISTINCT FROM actor_opd THEN
        RAISE EXCEPTION 'owner_opd % is not your OPD; an editor of % may only add or move assets to %',
            NEW.owner_opd, actor_opd, actor_opd USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN coalesce(NEW, OLD);
END $$;
CREATE TRIGGER assets_opd_scope BEFORE INSERT OR UPDATE OR DELETE ON assets
    FOR EACH ROW EXECUTE FUNCTION assets_opd_scope();
"""

DOWNGRADE = """
DROP TRIGGER IF EXISTS assets_opd_scope ON assets;
DROP FUNCTION IF EXISTS assets_opd_scope();
DO $$
DECLARE target text;
BEGIN
    FOREACH target IN ARRAY ARRAY['cities', 'admin_areas', 'assets', 'incidents', 'incident_callers',
                                  'green_areas', 'road_nodes', 'roads', 'gazetteer', 'dataset_loads'] LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS audit_insert ON %I', target);
        EXECUTE format('DROP TRIGGER IF EXISTS audit_update ON %I', target);
        EXECUTE format('DROP TRIGGER IF EXISTS audit_delete ON %I', target);
        EXECUTE format('DROP TRIGGER IF EXISTS audit_truncate ON %I', target);
    END LOOP;
END $$;
DROP TABLE IF EXISTS api_tokens, users CASCADE;
DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log;
DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
DROP TABLE IF EXISTS audit_log;
DROP FUNCTION IF EXISTS audit_enable(regclass, text, text[]), audit_statement(), audit_actor(),
    audit_row_sql(text, boolean, text[]), audit_log_is_append_only();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
