"""crlhf: crowd-sourced line-level feedback turned into rewards for code models (cRLHF)."""

__version__ = "0.1.0"
