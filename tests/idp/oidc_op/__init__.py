"""A small Django project around django-oidc-provider: a real OpenID Connect provider for the tests.

It runs in its own process (its own settings, its own SQLite file), started by
`tests.idp.servers.OidcProvider`. People, their passwords, e-mails, verification flags and
groups come from a JSON file the test writes and may rewrite between sign-ins.
"""
