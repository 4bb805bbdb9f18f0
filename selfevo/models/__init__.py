"""Model folders and machines: the device and dtype, lineage and fingerprints, loading and folding adapters, the embedded base."""
