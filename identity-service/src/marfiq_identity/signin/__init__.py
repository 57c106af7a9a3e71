"""Who signs in, and how sure we are: the account a proven contact or document leads to."""
