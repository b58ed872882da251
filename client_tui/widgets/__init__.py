"""Widgets of the crlhf terminal client."""
