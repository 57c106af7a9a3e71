"""Partner clients: machines of an administration signing in with client credentials."""
