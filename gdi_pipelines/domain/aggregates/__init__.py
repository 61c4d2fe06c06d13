"""Safe summaries of a node's harmonised variants and clinical data (issue 6).

sample QC -> per-country variant summaries -> pooled federation figures -> exports, with
disclosure control on the counts that leave the node.
"""
