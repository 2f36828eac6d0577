"""The small runtime every shopmesh service shares: settings, server, errors, database, telemetry."""
