"""Correspondence: registration, processing steps, forwarding, answers, the case file."""
