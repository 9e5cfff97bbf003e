"""The organisation's directory: single sign-on, group mappings, SCIM provisioning, 2FA policy."""
