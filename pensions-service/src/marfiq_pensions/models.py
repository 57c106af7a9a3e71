"""Every table of the service, imported so that Alembic sees them all."""

from marfiq_pensions.affiliates.models import Affiliate
from marfiq_pensions.bank_accounts.models import BankAccountAudit, BankAccountChange
from marfiq_pensions.careers.models import CareerPeriod, ContributionLine
from marfiq_pensions.certificates.models import Certificate
from marfiq_pensions.db import administrations, idempotency, inbox, metadata, outbox
from marfiq_pensions.declarations.models import Declaration, DeclarationChunk, DeclarationRow
from marfiq_pensions.payments.models import Payment, PaymentRun

__all__ = [
    "Affiliate",
    "BankAccountAudit",
    "BankAccountChange",
    "CareerPeriod",
    "Certificate",
    "ContributionLine",
    "Declaration",
    "DeclarationChunk",
    "DeclarationRow",
    "Payment",
    "PaymentRun",
    "administrations",
    "idempotency",
    "inbox",
    "metadata",
    "outbox",
]
