"""The dev container (.devcontainer/) and profiles.yml.example agree on the connection, and
the dev container's PostgreSQL has the project's roles, with no password in the repository."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from webshop import roles

from conftest import REPO_ROOT

DEVCONTAINER_DIR = REPO_ROOT / ".devcontainer"
# Passwords come from a passfile, never from PGPASSWORD.
LIBPQ_VARS = {"PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSFILE"}
# What profiles.yml reads: where the server is from libpq's variables, who dbt is from its own.
PROFILE_VARS = {"PGHOST", "PGPORT", "PGDATABASE", "DBT_USER", "DBT_PASSWORD", "DBT_SCHEMA"}
README = REPO_ROOT / "README.md"


def _devcontainer() -> dict[str, Any]:
    data = json.loads((DEVCONTAINER_DIR / "devcontainer.json").read_text())
    assert isinstance(data, dict)
    return data


def _compose_path() -> Path:
    files = _devcontainer()["dockerComposeFile"]
    if isinstance(files, list):
        assert len(files) == 1, files
        files = files[0]
    return (DEVCONTAINER_DIR / files).resolve()


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(_compose_path().read_text())
    assert isinstance(data, dict)
    return data


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # ["KEY=value", ...]
        env = dict(item.split("=", 1) for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _workspace_env() -> dict[str, str]:
    return _environment(_compose()["services"][_devcontainer()["service"]])


def _pg_vars(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith("PG")}


def _postgres_service() -> tuple[str, dict[str, Any]]:
    name = _devcontainer()["remoteEnv"]["PGHOST"]
    services = _compose()["services"]
    assert name in services, f"PGHOST={name} is not a compose service"
    return name, services[name]


def test_devcontainer_uses_the_compose_file_and_an_existing_service() -> None:
    dc = _devcontainer()
    assert _compose_path().is_file()
    assert _compose_path().parent == DEVCONTAINER_DIR
    services = _compose()["services"]
    assert dc["service"] in services
    # The workspace mounts the repository where devcontainer.json says it is.
    volumes = services[dc["service"]].get("volumes", [])
    assert any(
        str(v).split(":")[0] == ".." and str(v).split(":")[1] == dc["workspaceFolder"]
        for v in volumes
    ), volumes


def test_remote_env_and_workspace_set_exactly_the_libpq_variables_alike() -> None:
    remote = _pg_vars({k: str(v) for k, v in _devcontainer()["remoteEnv"].items()})
    workspace = _pg_vars(_workspace_env())
    assert set(remote) == LIBPQ_VARS
    assert set(workspace) == LIBPQ_VARS
    assert remote == workspace


def test_profiles_example_reads_the_libpq_variables() -> None:
    text = (REPO_ROOT / "profiles.yml.example").read_text()
    used = set(re.findall(r"env_var\(\s*['\"](\w+)['\"]", text))
    assert used == PROFILE_VARS
    # and it is valid YAML with a postgres target
    profile = yaml.safe_load(text)
    outputs = profile["webshop"]["outputs"]
    assert outputs[profile["webshop"]["target"]]["type"] == "postgres"


def test_profiles_example_defaults_are_the_embedded_server_and_the_transformer() -> None:
    text = (REPO_ROOT / "profiles.yml.example").read_text()
    defaults = dict(re.findall(r"env_var\(\s*'(\w+)'\s*,\s*'([^']*)'\s*\)", text))
    assert defaults == {
        "PGHOST": "127.0.0.1",
        "PGPORT": "54329",
        "PGDATABASE": "webshop",
        "DBT_USER": roles.ROLES["transformer"],
        "DBT_PASSWORD": "",
        "DBT_SCHEMA": "analytics",
    }


def test_pghost_is_the_postgres_service() -> None:
    name, service = _postgres_service()
    image = str(service["image"])
    assert re.fullmatch(r"(docker\.io/)?(library/)?postgres(:[\w.-]+)?", image), image
    workspace = _compose()["services"][_devcontainer()["service"]]
    depends = workspace.get("depends_on", [])
    assert name in depends


def test_postgres_service_credentials_match_the_libpq_variables() -> None:
    remote = _devcontainer()["remoteEnv"]
    _, service = _postgres_service()
    env = _environment(service)
    assert env["POSTGRES_USER"] == remote["PGUSER"]
    assert env["POSTGRES_DB"] == remote["PGDATABASE"]
    # The official image listens on 5432 unless told otherwise.
    assert "command" not in service or "-p" not in str(service["command"])
    assert remote["PGPORT"] == "5432"
    # The health check asks for the same user and database.
    health = " ".join(map(str, service["healthcheck"]["test"]))
    assert f"-U {remote['PGUSER']}" in health
    assert f"-d {remote['PGDATABASE']}" in health


def test_no_password_in_the_repository() -> None:
    """Passwords are generated on the host (initializeCommand) into a git-ignored folder;
    the compose file and devcontainer.json only point at them."""
    secrets_dir = DEVCONTAINER_DIR / ".secrets"
    _, service = _postgres_service()
    assert not any("PASSWORD" in key for key in _environment(service))
    assert (DEVCONTAINER_DIR / str(service["env_file"])).parent == secrets_dir
    assert Path(_devcontainer()["remoteEnv"]["PGPASSFILE"]).parent.name == ".secrets"
    assert "PGPASSWORD" not in _devcontainer()["remoteEnv"]
    ignored = (REPO_ROOT / ".gitignore").read_text().splitlines()
    assert ".devcontainer/.secrets/" in ignored
    command = _devcontainer()["initializeCommand"]
    assert command == "sh .devcontainer/secrets.sh"
    assert (REPO_ROOT / command.split()[1]).is_file()


def test_postgres_service_accepts_passwords_only() -> None:
    _, service = _postgres_service()
    env = _environment(service)
    assert env["POSTGRES_INITDB_ARGS"] == "--auth=scram-sha-256"
    assert env["POSTGRES_HOST_AUTH_METHOD"] == "scram-sha-256"
    assert "trust" not in (DEVCONTAINER_DIR / "docker-compose.yml").read_text()


def test_postgres_service_creates_the_project_roles() -> None:
    """Its init scripts are the SQL of `webshop db roles --sql` (kept in sync here) and a
    script giving every login role its generated password."""
    _, service = _postgres_service()
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in service["volumes"]}
    initdb = DEVCONTAINER_DIR / mounts["/docker-entrypoint-initdb.d"]
    assert (initdb / "10-roles.sql").read_text() == roles.script("webshop", "raw")
    passwords = (initdb / "20-passwords.sh").read_text()
    secrets = (DEVCONTAINER_DIR / "secrets.sh").read_text()
    for name in roles.ROLES.values():
        variable = f"{name.upper()}_PASSWORD"
        assert f'"${variable}"' in passwords, name
        assert f"alter role {name} password" in passwords, name
        assert name in secrets, name


def test_postgres_image_is_at_least_15() -> None:
    _, service = _postgres_service()
    image = str(service["image"])
    tag = image.rpartition(":")[2] if ":" in image else ""
    match = re.match(r"\d+", tag)
    assert match, f"{image}: pin a major version (15 or newer)"
    assert int(match.group()) >= 15


def test_workspace_python_satisfies_requires_python() -> None:
    image = str(_compose()["services"][_devcontainer()["service"]]["image"])
    match = re.search(r"python:(\d+)\.(\d+)", image)
    assert match, image
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    required = re.search(r'requires-python\s*=\s*">=(\d+)\.(\d+)"', pyproject)
    assert required
    assert (int(match[1]), int(match[2])) >= (int(required[1]), int(required[2]))


def test_post_create_command_and_forwarded_port_exist_in_the_makefile() -> None:
    dc = _devcontainer()
    makefile = (REPO_ROOT / "Makefile").read_text()
    target = re.fullmatch(r"make (\S+)", dc["postCreateCommand"])
    assert target
    assert re.search(rf"^{re.escape(target[1])}:", makefile, re.MULTILINE)
    for port in dc.get("forwardPorts", []):
        assert f"--port {port}" in makefile


@pytest.mark.skipif(not README.exists(), reason="README.md not written yet")
def test_readme_mentions_every_libpq_variable() -> None:
    text = README.read_text()
    missing = sorted(v for v in LIBPQ_VARS if not re.search(rf"\b{v}\b", text))
    assert not missing
