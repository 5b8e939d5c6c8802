"""Reports for people: the stats as tables, JSON, CSV and Markdown (:mod:`~resdsl.report.tables`),
the paper's Table 1 for any networks (:mod:`~resdsl.report.table1`), and what changes from
one network to another (:mod:`~resdsl.report.diff`). Only strings come out."""
