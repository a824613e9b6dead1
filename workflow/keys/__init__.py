"""The secrets s55 keeps outside the database, each in an owner-only file.

``audit_key`` (the keyring that signs every audit event), ``link_tokens`` (the approvers'
link tokens, derived from that key and never stored), ``web_secret`` (the web server's
secret for reader sessions and CSRF tokens).
"""
