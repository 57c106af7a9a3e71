"""Access tokens (ES256 JWT), sessions and opaque refresh tokens."""
