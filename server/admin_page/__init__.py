"""The admin page: server-rendered HTML on the same data and service functions as the JSON API.

``crlhf serve`` serves it under ``/admin`` (see docs/server.md): Jinja2 templates, plots drawn
as inline SVG on the server (:mod:`.svg`), one small script for the live parts. An admin logs in
with their token; the browser then holds only an HttpOnly session cookie (:mod:`.sessions`).
"""
