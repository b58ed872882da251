"""Sampling completions from the current policy (torch and transformers live here only)."""
