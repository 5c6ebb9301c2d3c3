"""Identity: users, organisations, memberships and roles, API keys, and the acting principal."""
