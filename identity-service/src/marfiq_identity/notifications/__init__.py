"""Telling people things: one-time codes and notifications, by SMS and e-mail, in their
language."""
