"""The desk's double-entry payment ledger, after TigerBeetle's model."""
