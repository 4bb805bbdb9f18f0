import dataclasses


@dataclasses.dataclass
class LoRARequest:
    name: str
    lora_id: int
    path: str
