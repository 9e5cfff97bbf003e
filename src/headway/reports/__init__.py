"""Exports people take to the quarterly review: CSV, XLSX and the PDF review pack.

- :mod:`headway.reports.tables`: the tree, the review, a team, the KPI board and a KPI's
  series as tables, within what the person may see.
- :mod:`headway.reports.writers`: those tables as CSV or XLSX, streamed.
- :mod:`headway.reports.charts`: SVG charts drawn on the server (no browser).
- :mod:`headway.reports.pack`: the PDF review pack of a cycle or team (WeasyPrint).
"""
