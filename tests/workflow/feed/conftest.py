"""Fixtures of the feed tests (``feed_support``): Norfolk's office on 1 December 2025,
feeds as files and served on loopback."""

from feed_support import _on_1_december_2025, cli, office, serve, write_feed

__all__ = ["_on_1_december_2025", "cli", "office", "serve", "write_feed"]
