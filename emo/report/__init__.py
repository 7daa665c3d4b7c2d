"""The report: the paper's tables and figures beside ours, from the other stages' artifacts alone.

inputs (what the report reads, loaded once) -> sections (the document, section by section,
metrics.json, plot data and tables); tables, comparisons and figures compute its parts,
document renders it to Markdown and HTML. The report stage (emo.pipeline.report) says
where the inputs are and where the outputs go.
"""
