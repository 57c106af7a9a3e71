"""Bank accounts pensions are paid to: Moroccan RIB and MA IBAN."""

from marfiq_pensions.bank.account import (
    Rib,
    iban_to_rib,
    parse_iban,
    parse_rib,
    rib_key,
    rib_to_iban,
)
from marfiq_pensions.bank.errors import ForeignIban, InvalidIban, InvalidRib

__all__ = [
    "ForeignIban",
    "InvalidIban",
    "InvalidRib",
    "Rib",
    "iban_to_rib",
    "parse_iban",
    "parse_rib",
    "rib_key",
    "rib_to_iban",
]
