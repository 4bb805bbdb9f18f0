"""Scoring and choosing pairs: answer-token NLL, IFD under the fixed scorer, the judge, selection."""
