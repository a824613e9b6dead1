"""Mail for s55: templates, message building, transports (SMTP, spool) and delivery."""
