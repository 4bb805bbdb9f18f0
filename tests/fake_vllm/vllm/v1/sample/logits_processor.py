class AdapterLogitsProcessor:
    """vLLM's base for per-request logits processors: the fake engine calls new_req_logits_processor."""

    def __init__(self, vllm_config, device, is_pin_memory):
        pass
