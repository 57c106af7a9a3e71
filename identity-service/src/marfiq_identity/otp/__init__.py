"""Sign-in by a one-time code sent by SMS or e-mail, and confirmation of new contacts."""
