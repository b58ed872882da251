"""Screens of the crlhf terminal client."""
