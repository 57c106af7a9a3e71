"""Uploaded files: streamed to storage, type checked from content, hashed, then attached."""
