"""Mail for s55: templates, message building, transports (SMTP, spool) and delivery."""

from pathlib import Path

#: The templates s55 ships (an organisation's folder may override any of them).
BUILTIN_TEMPLATES = Path(__file__).with_name("templates")
