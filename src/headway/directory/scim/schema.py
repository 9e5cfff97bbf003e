"""What Headway's SCIM service publishes about itself (RFC 7643 sections 5-8, RFC 7644 section 4).

The User and Group schemas list only the attributes Headway keeps; `emails` is required
because a Headway person signs in by e-mail (an e-mail-shaped userName is accepted in its
place).
"""

from __future__ import annotations

from typing import Any

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
MAX_RESULTS = 200


def attr(
    name: str,
    kind: str = "string",
    *,
    description: str = "",
    multi: bool = False,
    required: bool = False,
    case_exact: bool = False,
    mutability: str = "readWrite",
    returned: str = "default",
    uniqueness: str = "none",
    sub: list[dict[str, Any]] | None = None,
    canonical: list[str] | None = None,
    references: list[str] | None = None,
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "name": name,
        "type": kind,
        "multiValued": multi,
        "description": description or name,
        "required": required,
        "caseExact": case_exact,
        "mutability": mutability,
        "returned": returned,
        "uniqueness": uniqueness,
    }
    if sub is not None:
        found["subAttributes"] = sub
    if canonical is not None:
        found["canonicalValues"] = canonical
    if references is not None:
        found["referenceTypes"] = references
    return found


USER_ATTRIBUTES = [
    attr(
        "userName",
        required=True,
        uniqueness="server",
        description="The provider's unique name for the person (often their e-mail address).",
    ),
    attr(
        "name",
        "complex",
        description="The person's name; Headway shows displayName, else formatted, else "
        "givenName and familyName.",
        sub=[
            attr("formatted"),
            attr("familyName"),
            attr("givenName"),
            attr("middleName"),
            attr("honorificPrefix"),
            attr("honorificSuffix"),
        ],
    ),
    attr("displayName", description="The name Headway shows."),
    attr(
        "emails",
        "complex",
        multi=True,
        required=True,
        description="E-mail addresses; the primary one (else the first) is the sign-in address.",
        sub=[
            attr("value", required=True),
            attr("display"),
            attr("type", canonical=["work", "home", "other"]),
            attr("primary", "boolean"),
        ],
    ),
    attr("active", "boolean", description="false: the person cannot sign in to Headway."),
    attr(
        "groups",
        "complex",
        multi=True,
        mutability="readOnly",
        description="The SCIM groups the person is a member of.",
        sub=[
            attr("value", mutability="readOnly"),
            attr("$ref", "reference", mutability="readOnly", references=["Group"]),
            attr("display", mutability="readOnly"),
            attr("type", mutability="readOnly", canonical=["direct"]),
        ],
    ),
]

GROUP_ATTRIBUTES = [
    attr(
        "displayName",
        required=True,
        uniqueness="server",
        description="The group's name; group mappings on Headway's sign-in page match it.",
    ),
    attr(
        "members",
        "complex",
        multi=True,
        description="The people in the group (groups inside groups are not kept).",
        sub=[
            attr("value", mutability="immutable", case_exact=True),
            attr("$ref", "reference", mutability="immutable", references=["User"]),
            attr("type", mutability="immutable", canonical=["User"]),
        ],
    ),
]


SCHEMA_ATTRIBUTES = [
    attr("id", mutability="readOnly", required=True, case_exact=True),
    attr("name", mutability="readOnly"),
    attr("description", mutability="readOnly"),
    attr(
        "attributes",
        "complex",
        multi=True,
        mutability="readOnly",
        required=True,
        sub=[
            attr("name", mutability="readOnly", required=True, case_exact=True),
            attr("type", mutability="readOnly", required=True),
            attr("multiValued", "boolean", mutability="readOnly", required=True),
            attr("description", mutability="readOnly"),
            attr("required", "boolean", mutability="readOnly"),
            attr("canonicalValues", mutability="readOnly", multi=True),
            attr("caseExact", "boolean", mutability="readOnly"),
            attr("mutability", mutability="readOnly"),
            attr("returned", mutability="readOnly"),
            attr("uniqueness", mutability="readOnly"),
            attr("referenceTypes", mutability="readOnly", multi=True),
            attr("subAttributes", "complex", mutability="readOnly", multi=True),
        ],
    ),
]

RESOURCE_TYPE_ATTRIBUTES = [
    attr("id", mutability="readOnly", case_exact=True),
    attr("name", mutability="readOnly", required=True),
    attr("description", mutability="readOnly"),
    attr("endpoint", "reference", mutability="readOnly", required=True, references=["uri"]),
    attr("schema", "reference", mutability="readOnly", required=True, references=["uri"]),
    attr(
        "schemaExtensions",
        "complex",
        multi=True,
        mutability="readOnly",
        sub=[
            attr("schema", "reference", mutability="readOnly", required=True, references=["uri"]),
            attr("required", "boolean", mutability="readOnly", required=True),
        ],
    ),
]


def _supported(supported: bool) -> dict[str, Any]:
    return {"supported": supported}


SPC_ATTRIBUTES = [
    attr("documentationUri", "reference", mutability="readOnly", references=["external"]),
    attr(
        "patch",
        "complex",
        mutability="readOnly",
        required=True,
        sub=[attr("supported", "boolean", mutability="readOnly", required=True)],
    ),
    attr(
        "bulk",
        "complex",
        mutability="readOnly",
        required=True,
        sub=[
            attr("supported", "boolean", mutability="readOnly", required=True),
            attr("maxOperations", "integer", mutability="readOnly", required=True),
            attr("maxPayloadSize", "integer", mutability="readOnly", required=True),
        ],
    ),
    attr(
        "filter",
        "complex",
        mutability="readOnly",
        required=True,
        sub=[
            attr("supported", "boolean", mutability="readOnly", required=True),
            attr("maxResults", "integer", mutability="readOnly", required=True),
        ],
    ),
    attr(
        "changePassword",
        "complex",
        mutability="readOnly",
        required=True,
        sub=[attr("supported", "boolean", mutability="readOnly", required=True)],
    ),
    attr(
        "sort",
        "complex",
        mutability="readOnly",
        required=True,
        sub=[attr("supported", "boolean", mutability="readOnly", required=True)],
    ),
    attr(
        "etag",
        "complex",
        mutability="readOnly",
        required=True,
        sub=[attr("supported", "boolean", mutability="readOnly", required=True)],
    ),
    attr(
        "authenticationSchemes",
        "complex",
        multi=True,
        mutability="readOnly",
        required=True,
        sub=[
            attr("type", mutability="readOnly", required=True),
            attr("name", mutability="readOnly", required=True),
            attr("description", mutability="readOnly", required=True),
            attr("specUri", "reference", mutability="readOnly", references=["external"]),
            attr("documentationUri", "reference", mutability="readOnly", references=["external"]),
        ],
    ),
]

SCHEMAS: dict[str, tuple[str, str, list[dict[str, Any]]]] = {
    USER: ("User", "A person in Headway", USER_ATTRIBUTES),
    GROUP: (
        "Group",
        "A directory group; group mappings place its members in teams",
        GROUP_ATTRIBUTES,
    ),
    SPC: ("Service Provider Configuration", "What Headway's SCIM service supports", SPC_ATTRIBUTES),
    RESOURCE_TYPE: ("ResourceType", "The resource types Headway serves", RESOURCE_TYPE_ATTRIBUTES),
    SCHEMA: ("Schema", "The schemas Headway publishes", SCHEMA_ATTRIBUTES),
}

RESOURCE_TYPES = {
    "User": {"endpoint": "/Users", "schema": USER, "description": "People"},
    "Group": {"endpoint": "/Groups", "schema": GROUP, "description": "Directory groups"},
}


def schema_document(schema_id: str, base: str) -> dict[str, Any]:
    name, description, attributes = SCHEMAS[schema_id]
    return {
        "schemas": [SCHEMA],
        "id": schema_id,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{schema_id}"},
    }


def resource_type_document(name: str, base: str) -> dict[str, Any]:
    spec = RESOURCE_TYPES[name]
    return {
        "schemas": [RESOURCE_TYPE],
        "id": name,
        "name": name,
        "description": spec["description"],
        "endpoint": spec["endpoint"],
        "schema": spec["schema"],
        "schemaExtensions": [],
        "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/{name}"},
    }


def service_provider_config(base: str, documentation: str) -> dict[str, Any]:
    return {
        "schemas": [SPC],
        "documentationUri": documentation,
        "patch": _supported(True),
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": _supported(False),
        "sort": _supported(False),
        "etag": _supported(False),
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A SCIM token an admin creates on Headway's sign-in settings page.",
                "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
                "documentationUri": documentation,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base}/ServiceProviderConfig",
        },
    }
