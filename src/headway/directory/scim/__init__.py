"""SCIM 2.0 provisioning at /scim/v2/ (RFC 7643, RFC 7644): a small layer over Headway's people."""
