"""The service's ES256 signing keys: generation, storage encrypted at rest, rotation, JWKS."""
