"""One view per file."""
