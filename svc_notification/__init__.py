"""The notifications service: e-mails buyers about their orders, fed by events (no API)."""
