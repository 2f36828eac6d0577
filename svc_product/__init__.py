"""The products service: the catalog and its stock."""
