"""`make bench`: our tasks against the reference tools (bcftools, seqkit) on the same inputs.

Each contender runs as a child process, the two alternating (ours, reference, ours, ...), and is
measured for wall time, CPU time and the peak resident memory of its whole process tree. Entry:
`python -m gdi_pipelines.bench --sizes 1M,10M --out bench-results/bench.json`.
"""
