"""identity otp functions: open a challenge, try a code, each in one round trip

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 07:40:00

Both take the contact's advisory lock and then read the state they decide on. A VOLATILE
PL/pgSQL function runs each statement with a fresh snapshot (READ COMMITTED), so what is
read after the lock sees everything an earlier holder committed, as the separate
statements it replaces did. Asking for a code therefore needs no BEGIN and no COMMIT (the
call is atomic by itself), and answering one two statements fewer.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = """
CREATE FUNCTION identity.open_otp_challenge(
    p_id uuid, p_purpose text, p_channel text, p_destination text, p_account_id uuid,
    p_code_hash bytea, p_language text, p_client_address text, p_now timestamptz,
    p_expires_at timestamptz, p_contact_since timestamptz, p_address_since timestamptz,
    p_cooldown_s int, p_destination_limit int, p_address_limit int,
    OUT holder_language text, OUT throttled_until timestamptz, OUT sent bigint,
    OUT last_sent_at timestamptz, OUT from_address bigint,
    OUT oldest_from_address timestamptz, OUT opened boolean
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    holder_id uuid;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('contact:' || p_destination, 0));
    IF left(p_destination, 1) = '+' THEN
        SELECT a.id, a.language INTO holder_id, holder_language
        FROM identity.accounts AS a WHERE a.phone = p_destination;
    ELSE
        SELECT a.id, a.language INTO holder_id, holder_language
        FROM identity.accounts AS a WHERE a.email = p_destination;
    END IF;
    -- The rest in one statement (each statement of a function pays for its own executor):
    -- the limits as they stood, and the challenge written only when none refuses it.
    WITH state AS (
        SELECT
            (SELECT max(f.throttled_until) FROM identity.otp_failure_counts AS f
                WHERE f.subject IN ('contact:' || p_destination, 'account:' || holder_id::text)
            ) AS throttled_until,
            sent.n AS sent, sent.last AS last_sent_at,
            recent.n AS from_address, recent.oldest AS oldest_from_address
        FROM (
            SELECT count(*) AS n, max(c.created_at) AS last FROM identity.otp_challenges AS c
            WHERE c.destination = p_destination AND c.created_at > p_contact_since
        ) AS sent,
        -- Counted up to the limit only: an address past it costs no more to refuse.
        (
            SELECT count(*) AS n, min(r.created_at) AS oldest FROM (
                SELECT c.created_at FROM identity.otp_challenges AS c
                WHERE c.client_address = p_client_address AND c.created_at > p_address_since
                ORDER BY c.created_at DESC LIMIT p_address_limit
            ) AS r
        ) AS recent
    ),
    decided AS (
        SELECT state.*,
            coalesce(state.throttled_until <= p_now, true)
            AND coalesce(p_now - state.last_sent_at >= make_interval(secs => p_cooldown_s), true)
            AND state.sent < p_destination_limit
            AND state.from_address < p_address_limit AS opened
        FROM state
    ),
    added AS (
        INSERT INTO identity.otp_challenges (id, purpose, channel, destination, account_id,
            code_hash, language, client_address, created_at, expires_at, attempts)
        SELECT p_id, p_purpose, p_channel, p_destination, p_account_id, p_code_hash,
            coalesce(holder_language, p_language), p_client_address, p_now, p_expires_at, 0
        FROM decided WHERE decided.opened
    )
    SELECT d.throttled_until, d.sent, d.last_sent_at, d.from_address, d.oldest_from_address,
        d.opened
    INTO throttled_until, sent, last_sent_at, from_address, oldest_from_address, opened
    FROM decided AS d;
END
$$
"""

_TRY = """
CREATE FUNCTION identity.try_otp_code(
    p_id uuid, p_purpose text, p_account_id uuid, p_now timestamptz, p_max_attempts int,
    p_code_hash bytea, p_device text,
    OUT channel text, OUT destination text, OUT account_id uuid, OUT code_hash bytea,
    OUT language text, OUT attempts int,
    OUT holder_id uuid, OUT holder_kind text, OUT holder_phone text, OUT holder_email text,
    OUT holder_language text, OUT holder_cin text, OUT holder_administration_id uuid,
    OUT holder_roles text[], OUT holder_created_at timestamptz,
    OUT holder_updated_at timestamptz, OUT holder_disabled_at timestamptz,
    OUT throttled_until timestamptz, OUT has_failures boolean, OUT registry_cin text,
    OUT signed_in_before boolean, OUT device_known boolean
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    holder identity.accounts%ROWTYPE;
BEGIN
    UPDATE identity.otp_challenges AS c SET attempts = c.attempts + 1
    WHERE c.id = p_id AND c.purpose = p_purpose AND c.consumed_at IS NULL
        AND c.expires_at > p_now AND c.attempts < p_max_attempts
        AND (p_account_id IS NULL OR c.account_id = p_account_id)
    RETURNING c.channel, c.destination, c.account_id, c.code_hash, c.language, c.attempts
    INTO channel, destination, account_id, code_hash, language, attempts;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('contact:' || destination, 0));
    -- Two statements rather than one with a CASE: each uses its column's unique index.
    IF left(destination, 1) = '+' THEN
        SELECT a.* INTO holder FROM identity.accounts AS a WHERE a.phone = destination;
    ELSE
        SELECT a.* INTO holder FROM identity.accounts AS a WHERE a.email = destination;
    END IF;
    holder_id := holder.id;
    holder_kind := holder.kind;
    holder_phone := holder.phone;
    holder_email := holder.email;
    holder_language := holder.language;
    holder_cin := holder.cin;
    holder_administration_id := holder.administration_id;
    holder_roles := holder.roles;
    holder_created_at := holder.created_at;
    holder_updated_at := holder.updated_at;
    holder_disabled_at := holder.disabled_at;
    -- The rest in one statement. A right code is spent here; a refusal after it
    -- (throttled) rolls the caller back.
    WITH consumed AS (
        UPDATE identity.otp_challenges AS c SET consumed_at = p_now
        WHERE c.id = p_id AND c.code_hash = p_code_hash
    ),
    failures AS (
        SELECT f.throttled_until FROM identity.otp_failure_counts AS f
        WHERE f.subject IN ('contact:' || destination, 'account:' || holder.id::text)
    ),
    seen AS (
        SELECT count(*) > 0 AS before, coalesce(bool_or(s.device = p_device), false) AS known
        FROM identity.sessions AS s
        WHERE s.account_id = holder.id AND p_device IS NOT NULL
    )
    SELECT (SELECT max(f.throttled_until) FROM failures AS f),
        EXISTS (SELECT 1 FROM failures),
        (SELECT r.cin FROM identity.authoritative_contacts AS r WHERE r.contact = destination),
        CASE WHEN holder.id IS NOT NULL AND p_device IS NOT NULL THEN seen.before END,
        CASE WHEN holder.id IS NOT NULL AND p_device IS NOT NULL THEN seen.known END
    INTO throttled_until, has_failures, registry_cin, signed_in_before, device_known
    FROM seen;
END
$$
"""


def upgrade() -> None:
    op.execute(_OPEN)
    op.execute(_TRY)


def downgrade() -> None:
    op.execute("DROP FUNCTION identity.try_otp_code")
    op.execute("DROP FUNCTION identity.open_otp_challenge")
