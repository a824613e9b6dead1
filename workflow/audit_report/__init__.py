"""The auditor's report (``s55 audit report``): every response of a period as its audit log
tells it, with the on-time rate and a month-by-month chart.

``model`` holds the plain dataclasses and the rules (the period, the verdict on each
response), ``build`` reads the rows and folds their events into them, ``chart`` lays out
the SVG bar chart, and ``render`` writes HTML (``templates/``), CSV and JSON.
"""
