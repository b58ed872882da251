"""Where a client finds its server and token.

Both clients (the TUI and the language server) and the admin CLI resolve the same two
settings the same way, so a developer configures crlhf once:

1. explicit arguments (command-line flags, LSP initializationOptions),
2. environment variables (``CRLHF_SERVER``, ``CRLHF_TOKEN``),
3. ``config.toml`` in the user's config dir (``server = "..."``, ``token = "..."``).

Each setting is resolved on its own, so a token in the environment combines with a
server URL from the file. ``CRLHF_CONFIG_DIR`` and ``CRLHF_DATA_DIR`` move the config
and data dirs (tests point them at temp dirs so they never touch the real home).
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

from crlhf.errors import InvalidFile, InvalidInput

APP_NAME = "crlhf"
ENV_SERVER = "CRLHF_SERVER"
ENV_TOKEN = "CRLHF_TOKEN"
ENV_ADMIN_TOKEN = "CRLHF_ADMIN_TOKEN"
ENV_CONFIG_DIR = "CRLHF_CONFIG_DIR"
ENV_DATA_DIR = "CRLHF_DATA_DIR"
CONFIG_FILE_NAME = "config.toml"


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The directory holding ``config.toml``: ``$CRLHF_CONFIG_DIR`` or the platform's."""
    env = os.environ if env is None else env
    override = env.get(ENV_CONFIG_DIR)
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME))


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """The directory for client data (offline queues): ``$CRLHF_DATA_DIR`` or the platform's."""
    env = os.environ if env is None else env
    override = env.get(ENV_DATA_DIR)
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


def config_path(env: Mapping[str, str] | None = None) -> Path:
    return config_dir(env) / CONFIG_FILE_NAME


def normalize_server_url(url: str) -> str:
    """Check that ``url`` is an http(s) URL with a host and drop any trailing slash.

    A typo here would otherwise surface later as a confusing "server unreachable".
    """
    cleaned = url.strip().rstrip("/")
    parts = urlsplit(cleaned)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise InvalidInput(
            f"server URL {url!r} must look like http://host:port or https://host",
            field="server",
        )
    return cleaned


def _read_file(path: Path) -> dict[str, str]:
    """Read ``server``/``token`` from a config file; a missing file is an empty config."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InvalidFile(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidFile(f"config file {path} is not valid TOML: {exc}") from exc
    found: dict[str, str] = {}
    for key in ("server", "token"):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidFile(f"config file {path}: {key!r} must be a string", field=key)
        found[key] = value
    return found


@dataclass(frozen=True)
class ClientConfig:
    """The server URL and token a client talks with."""

    server: str
    token: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "server", normalize_server_url(self.server))
        if not self.token.strip():
            raise InvalidInput("token is empty", field="token")

    @classmethod
    def load(
        cls,
        server: str | None = None,
        token: str | None = None,
        *,
        env: Mapping[str, str] | None = None,
        token_env: Sequence[str] = (ENV_TOKEN,),
        path: Path | None = None,
    ) -> ClientConfig:
        """Resolve the config: explicit args > environment > config file.

        ``token_env`` lists the environment variables tried for the token, in order
        (the admin CLI passes ``CRLHF_ADMIN_TOKEN`` first). Raises :class:`InvalidInput`
        naming every missing setting and every place it could have come from.
        """
        env = os.environ if env is None else env
        path = config_path(env) if path is None else path
        from_file = _read_file(path)
        resolved_server = server or env.get(ENV_SERVER) or from_file.get("server")
        resolved_token = (
            token
            or next((env[name] for name in token_env if env.get(name)), None)
            or from_file.get("token")
        )
        missing: list[str] = []
        if not resolved_server:
            missing.append(f"the server URL (--server, ${ENV_SERVER} or 'server' in {path})")
        if not resolved_token:
            names = ", ".join(f"${name}" for name in token_env)
            missing.append(f"the token (--token, {names} or 'token' in {path})")
        if missing or resolved_server is None or resolved_token is None:
            raise InvalidInput("crlhf is not configured: missing " + " and ".join(missing))
        return cls(server=resolved_server, token=resolved_token)

    def save(self, path: Path | None = None) -> Path:
        """Write the config file readable by its owner only (mode 0600); return its path.

        Written to a temp file and renamed, so a crash never leaves half a config; the
        token is a secret, so the file is created 0600 rather than chmod-ed afterwards.
        """
        path = config_path() if path is None else path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # JSON string escapes are valid TOML basic-string escapes.
        text = f"server = {json.dumps(self.server)}\ntoken = {json.dumps(self.token)}\n"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # the umask may have narrowed it; never widened
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        return path
