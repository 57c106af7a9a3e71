"""Marfiq identity service: accounts, sign-in, tokens, signing keys, administrations."""
