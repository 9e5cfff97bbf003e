"""Real identity providers the sign-in tests start on 127.0.0.1 (OpenID Connect, SAML)."""
