"""Every table of the service, imported so that Alembic sees them all."""

from marfiq_identity.accounts.models import Account
from marfiq_identity.administrations.models import Administration
from marfiq_identity.assurance.models import AuthoritativeContact, IdentityCheck
from marfiq_identity.clients.models import PartnerClient
from marfiq_identity.db import idempotency, inbox, metadata, outbox
from marfiq_identity.eid.models import EidChallenge
from marfiq_identity.keys.models import SigningKey
from marfiq_identity.notifications.models import Delivery
from marfiq_identity.otp.models import OtpChallenge, OtpFailureCount
from marfiq_identity.tokens.models import AuthSession, RefreshToken

__all__ = [
    "Account",
    "Administration",
    "AuthSession",
    "AuthoritativeContact",
    "Delivery",
    "EidChallenge",
    "IdentityCheck",
    "OtpChallenge",
    "OtpFailureCount",
    "PartnerClient",
    "RefreshToken",
    "SigningKey",
    "idempotency",
    "inbox",
    "metadata",
    "outbox",
]
