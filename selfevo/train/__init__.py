"""Training a round: its data, the LoRA loop on accelerate, checkpoints, θ_0's everyday replies."""
