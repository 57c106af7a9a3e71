"""The registry of documents the platform issued, and their public verification."""
