"""The payments service: simulated card charges and refunds."""
