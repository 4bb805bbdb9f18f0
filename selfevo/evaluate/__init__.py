"""Measuring a model: facts and their chance level, BLEU and the other metrics, bootstrap intervals, what a round's data states, comparisons, the summary and its plots, contamination."""
