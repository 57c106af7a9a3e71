"""identity eid holder function: lock a CIN and read its account in one round trip

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 07:55:00

An eID sign-in took the CIN's advisory lock, then read the account of the CIN, then
whether it signed in before from this device: three round trips. A VOLATILE PL/pgSQL
function reads with a fresh snapshot after the lock (as 0008's functions do), so one call
does all three with the same guarantees.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HOLDER = """
CREATE FUNCTION identity.lock_cin_holder(
    p_cin text, p_device text,
    OUT id uuid, OUT kind text, OUT phone text, OUT email text, OUT language text,
    OUT cin text, OUT administration_id uuid, OUT roles text[], OUT created_at timestamptz,
    OUT updated_at timestamptz, OUT disabled_at timestamptz,
    OUT signed_in_before boolean, OUT device_known boolean
) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('cin:' || p_cin, 0));
    SELECT a.id, a.kind, a.phone, a.email, a.language, a.cin, a.administration_id, a.roles,
        a.created_at, a.updated_at, a.disabled_at,
        CASE WHEN p_device IS NOT NULL THEN seen.before END,
        CASE WHEN p_device IS NOT NULL THEN seen.known END
    INTO id, kind, phone, email, language, cin, administration_id, roles, created_at,
        updated_at, disabled_at, signed_in_before, device_known
    FROM identity.accounts AS a
    CROSS JOIN LATERAL (
        SELECT count(*) > 0 AS before, coalesce(bool_or(s.device = p_device), false) AS known
        FROM identity.sessions AS s WHERE s.account_id = a.id AND p_device IS NOT NULL
    ) AS seen
    WHERE a.cin = p_cin;
END
$$
"""


def upgrade() -> None:
    op.execute(_HOLDER)


def downgrade() -> None:
    op.execute("DROP FUNCTION identity.lock_cin_holder")
