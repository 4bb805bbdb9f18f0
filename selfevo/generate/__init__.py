"""Writing QA pairs: prompts, batched generation (torch, vLLM), cleaning, the item cache, the paper's pairs, anchored pairs, prompt evolution and the questions' diversity."""
