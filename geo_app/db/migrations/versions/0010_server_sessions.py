"""Browser sessions kept on the server, and an audit log that stays append-only for every role.

A signed cookie alone stays valid until it expires, whatever happens on the server: sign-out, disabling
the user or a new password could not end it. A session is now a row of ``api_tokens`` (kind
``session``, only the SHA-256 of its secret stored, like API tokens and sign-in links); the cookie carries
the secret, and a revoked or expired row ends the session at the next request.

The append-only triggers of ``audit_log`` fire for every writer, also in a session whose
``session_replication_role`` is ``replica`` (which skips ordinary triggers).

Revision ID: 0010
Revises: 0007
"""

from alembic import op

revision = "0010"
down_revision = "0007"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_kind_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_kind_check
    CHECK (kind IN ('api', 'login_link', 'session'));
CREATE INDEX api_tokens_live_sessions_idx ON api_tokens (user_id)
    WHERE kind = 'session' AND revoked_at IS NULL;
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;
"""

DOWNGRADE = """
ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;
DROP INDEX api_tokens_live_sessions_idx;
DELETE FROM api_tokens WHERE kind = 'session';
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_kind_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_kind_check CHECK (kind IN ('api', 'login_link'));
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
