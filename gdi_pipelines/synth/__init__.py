"""`gdi synth`: deterministic synthetic national cohorts (reference, landing zone, truth).

The entry point is `gdi_pipelines.synth.cohort.generate_cohort`.
"""
