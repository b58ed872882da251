"""A small, honest testbed for the whole loop: synthetic problems whose lines have a known
truth, so a simulated crowd can vote on a policy's samples and pass@1 can be measured on
held-out instances. See docs/training.md, "Testbed".
"""
