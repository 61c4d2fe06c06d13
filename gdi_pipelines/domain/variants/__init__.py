"""Pure domain of `harmonised_variants`: VCF/BCF -> long-format GRCh38 calls.

Stages, each its own module: `contigs` (canonical names), `split` (bcftools `-m -any` rules),
`normalise` (bcftools `norm -f` left-alignment and REF check), `liftover` (UCSC chain index) and
`liftover_alleles` (strand flips, re-anchoring, REF/ALT swaps), `genotype_qc` (GQ/DP masking,
sex ploidy), orchestrated per chunk by `harmonise` and per region shard by `parallel`.
"""
