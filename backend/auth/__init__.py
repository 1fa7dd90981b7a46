"""Authentication: Sign-In with Ethereum for everyone, passwords for staff, roles."""
