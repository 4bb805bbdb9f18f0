"""Self-Evolution: turn private knowledge documents into a lightweight domain Q&A model.

The DVC stages in `stages/` are thin; the logic they share lives here, one module per job.
"""
