"""Agents of administrations: added by a supervisor or the platform administrator; they sign
in by code to the contact registered for them."""
