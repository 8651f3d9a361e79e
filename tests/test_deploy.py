"""The service files: the systemd units pass `systemd-analyze verify` and stay hardened, and the Dockerfile,
the compose example, the secrets file and the admin wrapper agree with each other and with the repository.

No Docker engine or running systemd here: the units are checked offline, the container files by reading them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SYSTEMD = ROOT / "deploy" / "systemd"
INSTALLED = "/opt/presswatch/bin/presswatch"  # where the README installs it
EXPOSURE_MAX = 2.0  # systemd-analyze security: 0 is a sealed box, 10 a root shell; "OK" is under 4.5
analyze = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(analyze is None, reason="systemd-analyze is not installed (Debian: systemd)")


def unit(name: str) -> dict[str, list[str]]:
    """The [Service] (or [Timer]) keys of a unit, each with every value given (systemd keys may repeat)."""
    values: dict[str, list[str]] = {}
    section = ""
    for line in (SYSTEMD / name).read_text().splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and not line.startswith("#") and section in ("Service", "Timer"):
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def runnable_copies(tmp_path: Path) -> list[Path]:
    """The units, with the README's install path replaced by this checkout's `presswatch` (verify runs it)."""
    entry = Path(sys.executable).parent / "presswatch"
    if not entry.exists():
        pytest.skip(f"{entry} is not installed: pip install -e . first")
    copies = []
    for source in sorted(SYSTEMD.iterdir()):
        copy = tmp_path / source.name
        copy.write_text(source.read_text().replace(INSTALLED, str(entry)))
        copies.append(copy)
    return copies


@needs_analyze
def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    copies = runnable_copies(tmp_path)
    assert analyze is not None
    result = subprocess.run([analyze, "verify", "--man=no", *map(str, copies)], capture_output=True, text=True,
                            cwd=tmp_path, timeout=60, check=False)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@needs_analyze
@pytest.mark.parametrize("name", ["presswatch.service", "presswatch-backup.service"])
def test_the_services_are_hardened(tmp_path: Path, name: str) -> None:
    runnable_copies(tmp_path)
    assert analyze is not None
    result = subprocess.run([analyze, "security", "--offline=yes", "--no-pager", name], capture_output=True,
                            text=True, cwd=tmp_path, timeout=60, check=False)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout + result.stderr)
    assert found, result.stdout + result.stderr
    print(f"{name}: exposure {found.group(1)}")  # the figure, with -s
    assert float(found.group(1)) <= EXPOSURE_MAX


def test_the_service_runs_the_daemon_as_its_own_user_with_its_secrets_and_reloads_with_sighup() -> None:
    service = unit("presswatch.service")
    assert service["ExecStart"] == [f"{INSTALLED} run"]
    assert service["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert (service["DynamicUser"], service["User"], service["StateDirectory"]) == (["yes"], ["presswatch"],
                                                                                    ["presswatch"])
    assert service["EnvironmentFile"] == ["/etc/presswatch/presswatch.env"]
    assert service["Environment"] == ["PRESSWATCH_CONFIG=/etc/presswatch/config.yaml"]
    assert service["RestartPreventExitStatus"] == ["2"]  # a bad config is not retried in a loop
    backup = unit("presswatch-backup.service")
    for key in ("User", "DynamicUser", "StateDirectory", "EnvironmentFile", "Environment"):
        assert backup[key] == service[key], f"{key}: the backup must run as the daemon does"
    assert "presswatch backup" in backup["ExecStart"][0]
    assert unit("presswatch-backup.timer")["Persistent"] == ["true"]


def test_the_admin_wrapper_runs_commands_as_the_service_does() -> None:
    wrapper = (ROOT / "deploy" / "presswatch-admin").read_text()
    service = unit("presswatch.service")
    for key in ("User", "DynamicUser", "StateDirectory", "EnvironmentFile"):
        assert f"--property={key}={service[key][0]}" in wrapper
    assert f"--setenv={service['Environment'][0]}" in wrapper and f'{INSTALLED} "$@"' in wrapper
    assert subprocess.run(["sh", "-n", str(ROOT / "deploy" / "presswatch-admin"), "accounts"],
                          timeout=30, check=False).returncode == 0


def test_the_secrets_file_names_every_variable_the_example_config_uses() -> None:
    settings = [line for line in (ROOT / "config.example.yaml").read_text().splitlines()
                if not line.lstrip().startswith("#")]
    used = set(re.findall(r"\$\{([A-Z_]+)\}", "\n".join(settings)))
    assert used
    lines = (ROOT / "deploy" / "presswatch.env.example").read_text().splitlines()
    named = {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}
    assert used <= named, f"missing from the secrets file: {sorted(used - named)}"


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of each Dockerfile line, continuations joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_the_dockerfile_copies_what_exists_and_runs_the_daemon_unprivileged() -> None:
    steps = dockerfile()
    [base] = [args for op, args in steps if op == "FROM"]
    assert re.fullmatch(r"python:3\.(1[1-9])-slim", base), base  # pyproject: requires-python >= 3.11
    for op, args in steps:
        if op == "COPY":
            *sources, _ = args.split()
            assert all((ROOT / source).exists() for source in sources), args
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert not {"pyproject.toml", "README.md", "LICENSE", "bot"} & set(ignored)  # what `pip install .` needs
    ops = [op for op, _ in steps]
    user = dict(steps)["USER"]
    assert user not in ("root", "0") and ops.index("USER") < ops.index("ENTRYPOINT")
    assert dict(steps)["STOPSIGNAL"] == "SIGTERM"
    assert (dict(steps)["ENTRYPOINT"], dict(steps)["CMD"]) == ('["presswatch"]', '["run"]')


def test_the_compose_example_mounts_the_config_and_the_volume_where_the_image_expects_them() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    service = compose["services"]["presswatch"]
    assert (ROOT / service["build"] / "Dockerfile").exists()
    steps = dict(dockerfile())
    config = steps["ENV"].split("PRESSWATCH_CONFIG=", 1)[1].split()[0]
    volume = yaml.safe_load(steps["VOLUME"])[0]
    mounts = {entry.split(":")[1]: entry for entry in service["volumes"]}
    assert mounts[config].endswith(":ro") and volume in mounts
    assert mounts[volume].split(":")[0] in compose["volumes"]
    assert service["env_file"] == "presswatch.env" and service["restart"] == "unless-stopped"
    assert {"presswatch.env", "config.yaml"} <= set((ROOT / ".gitignore").read_text().split())
