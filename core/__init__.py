"""Rules: settings, database, security, the permission catalogue and the shared operations."""
