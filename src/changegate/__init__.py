"""changegate: the Change Management Procedure, enforced and evidenced."""

__version__ = "0.1.0"
