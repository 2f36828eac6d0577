"""The users service: accounts, passwords and access tokens."""
