"""OKRs as code: the YAML format (version 1), its loader, and scoring with no database.

- :mod:`headway.document.schema`: the format as pydantic models, and its JSON Schema.
- :mod:`headway.document.load`: files → one :class:`Document`, or :class:`DocumentError`
  listing every problem with file, line and field.
- :mod:`headway.document.evaluate`: what `headway score` prints.
- :mod:`headway.document.commands`: the `score` and `schema` CLI commands.

Nothing in this package imports Django.
"""

from headway.document.evaluate import CycleSelectionError, score_document, select_cycle
from headway.document.load import DocumentError, Problem, load_documents, load_texts
from headway.document.schema import Document, document_json_schema

__all__ = [
    "CycleSelectionError",
    "Document",
    "DocumentError",
    "Problem",
    "document_json_schema",
    "load_documents",
    "load_texts",
    "score_document",
    "select_cycle",
]
