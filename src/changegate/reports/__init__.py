"""Renderers of an AuditResult: HTML (self-contained, with charts), CSV, Markdown and OSCAL. No I/O."""

from changegate.reports.html import render_html
from changegate.reports.oscal import render_oscal
from changegate.reports.tables import render_csv, render_markdown

__all__ = ["render_csv", "render_html", "render_markdown", "render_oscal"]
