"""Client configuration: precedence, the config file, and clear errors."""

from __future__ import annotations

import stat

import pytest

from crlhf.client_config import (
    ENV_ADMIN_TOKEN,
    ENV_CONFIG_DIR,
    ENV_DATA_DIR,
    ClientConfig,
    config_path,
    data_dir,
)
from crlhf.errors import InvalidInput


@pytest.fixture
def env(tmp_path):
    return {ENV_CONFIG_DIR: str(tmp_path / "config"), ENV_DATA_DIR: str(tmp_path / "data")}


def test_dirs_follow_the_env_overrides(env, tmp_path):
    assert config_path(env) == tmp_path / "config" / "config.toml"
    assert data_dir(env) == tmp_path / "data"


def test_save_then_load_round_trips_with_mode_0600(env):
    path = ClientConfig("http://example.org:8000/", 'tok"with\\odd chars').save(config_path(env))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = ClientConfig.load(env=env)
    assert loaded == ClientConfig("http://example.org:8000", 'tok"with\\odd chars')


def test_args_beat_env_beat_file(env):
    ClientConfig("http://file:1", "file-token").save(config_path(env))
    assert ClientConfig.load(env=env) == ClientConfig("http://file:1", "file-token")
    env |= {"CRLHF_SERVER": "http://env:2", "CRLHF_TOKEN": "env-token"}
    assert ClientConfig.load(env=env) == ClientConfig("http://env:2", "env-token")
    assert ClientConfig.load("http://arg:3", "arg-token", env=env) == ClientConfig(
        "http://arg:3", "arg-token"
    )


def test_each_setting_resolves_on_its_own(env):
    ClientConfig("http://file:1", "file-token").save(config_path(env))
    env["CRLHF_TOKEN"] = "env-token"
    assert ClientConfig.load(env=env) == ClientConfig("http://file:1", "env-token")


def test_token_env_order_for_admins(env):
    env |= {"CRLHF_SERVER": "http://s:1", "CRLHF_TOKEN": "annotator", ENV_ADMIN_TOKEN: "admin"}
    admin = ClientConfig.load(env=env, token_env=(ENV_ADMIN_TOKEN, "CRLHF_TOKEN"))
    assert admin.token == "admin"
    del env[ENV_ADMIN_TOKEN]
    fallback = ClientConfig.load(env=env, token_env=(ENV_ADMIN_TOKEN, "CRLHF_TOKEN"))
    assert fallback.token == "annotator"


def test_missing_settings_are_named(env):
    with pytest.raises(InvalidInput) as info:
        ClientConfig.load(env=env)
    message = str(info.value)
    assert "server URL" in message and "CRLHF_SERVER" in message
    assert "token" in message and "CRLHF_TOKEN" in message
    env["CRLHF_SERVER"] = "http://s:1"
    with pytest.raises(InvalidInput) as info:
        ClientConfig.load(env=env)
    assert "server URL" not in str(info.value) and "CRLHF_TOKEN" in str(info.value)


def test_malformed_file_names_the_file(env):
    path = config_path(env)
    path.parent.mkdir(parents=True)
    path.write_text('server = "http://s:1"\ntoken = \n')
    with pytest.raises(InvalidInput, match=r"config\.toml is not valid TOML.*line 2"):
        ClientConfig.load(env=env)


def test_non_string_value_is_rejected(env):
    path = config_path(env)
    path.parent.mkdir(parents=True)
    path.write_text('server = "http://s:1"\ntoken = 42\n')
    with pytest.raises(InvalidInput, match="'token' must be a string"):
        ClientConfig.load(env=env)


@pytest.mark.parametrize("url", ["localhost:8000", "ftp://host", "http://", ""])
def test_bad_server_urls_are_refused(env, url):
    with pytest.raises(InvalidInput):
        ClientConfig.load(url, "tok", env=env)
