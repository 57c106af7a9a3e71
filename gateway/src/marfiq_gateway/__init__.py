"""Marfiq API gateway: routing, token verification, revocations, merged OpenAPI."""
