"""The organisation's directory: single sign-on providers, group mappings, SCIM provisioning, 2FA policy."""
