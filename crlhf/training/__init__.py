"""PPO training rounds on the crowd's rewards (torch, transformers and peft live here only).

``config`` (settings) → ``rollout`` (checked triples) → ``batch`` (padded tensors) →
``policy`` (LoRA policy, reference, value head) → ``ppo`` (the step) → ``adapters``
(versions on disk) → ``round`` (one round end to end) → ``cli`` (``crlhf train-round``).
See docs/training.md.
"""
