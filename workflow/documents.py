"""Response documents: import the published layout, render it back (the public surface).

    result = import_document(db, "response.md", actor=admin_email, force=settings.force)
    for w in result.warnings: print(f"line {w.line}: {w.message}")
    text = render_response(db, result.response_id, "html", template_dir=settings.template_dir)

Parsing is pure (``docparse``); the database import is ``docimport``; rendering is
``docrender`` with templates in ``workflow/templates``.
"""

from __future__ import annotations

from workflow.docimport import MAX_BYTES, ImportResult, import_document, parse_file, read_document
from workflow.docmodel import (
    ChecklistItem,
    DocumentError,
    DocumentWarning,
    ParsedDocument,
    WarningKind,
)
from workflow.docoffice import document_state
from workflow.docparse import parse_document
from workflow.docrender import FORMATS, TemplateError, load_view, render_response, render_view

__all__ = [
    "FORMATS",
    "MAX_BYTES",
    "ChecklistItem",
    "DocumentError",
    "DocumentWarning",
    "ImportResult",
    "ParsedDocument",
    "TemplateError",
    "WarningKind",
    "document_state",
    "import_document",
    "load_view",
    "parse_document",
    "parse_file",
    "read_document",
    "render_response",
    "render_view",
]
