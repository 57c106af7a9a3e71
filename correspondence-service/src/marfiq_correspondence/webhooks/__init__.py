"""Partner webhooks: signed notifications of correspondence events, with retries."""
