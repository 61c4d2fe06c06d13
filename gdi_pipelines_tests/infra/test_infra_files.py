"""The deployment files name only what exists, and the Helm values fit the chart and Dagster.

infra/Dockerfile, .dockerignore, infra/docker-compose.yaml, infra/workspace.yaml,
infra/node.env.example and infra/helm/values.yaml are read as data: every module, command
option, file, environment variable and secret they name must exist in the project (or in
Dagster, for DAGSTER_*), no secret is written into them, and the Dagster instance the Helm chart
would write validates against the config schemas of dagster, dagster-postgres and dagster-k8s
and equals infra/dagster.yaml where both decide the same thing. No Docker or cluster is used.
"""

from __future__ import annotations

import copy
import fnmatch
import importlib
import importlib.util
import json
import re
import shlex
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import yaml
from dagster._cli import cli as dagster_cli
from dagster._config import convert_potential_field, process_config
from dagster._core.instance.config import dagster_instance_config_schema
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._daemon.cli import cli as daemon_cli
from dagster_k8s import K8sRunLauncher
from dagster_postgres import DagsterPostgresStorage
from dagster_webserver.cli import cli as webserver_cli
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from gdi_pipelines.config.locations import S3Credentials, join_uri
from gdi_pipelines.config.settings import load_settings, pseudonym_key

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
DATA = Path(__file__).resolve().parent / "data"
COMPOSE = INFRA / "docker-compose.yaml"
VALUES = INFRA / "helm" / "values.yaml"
OUR_IMAGE_SERVICES = ("minio-init", "gdi-code", "dagster-webserver", "dagster-daemon")
INSTANCE_SERVICES = ("gdi-code", "dagster-webserver", "dagster-daemon")
SECRETISH = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|_KEY_")
# Not read by gdi_pipelines' settings, but by the runtime the image sets up.
RUNTIME_ENV = {"PATH", "PYTHONUNBUFFERED", "DAGSTER_HOME", "GX_ANALYTICS_ENABLED"}
# Top-level fields of the chart's values model (helm/dagster/schema/schema/charts/dagster/
# values.py, DagsterHelmValues, dagster-io/dagster@0f2d9d8ee1755dff289e167e49167d87f4977a9f).
CHART_TOP_LEVEL = {
    "dagsterWebserver", "dagster-user-deployments", "postgresql",
    "generatePostgresqlPasswordSecret", "generateCeleryConfigSecret", "rabbitmq", "redis",
    "flower", "ingress", "imagePullSecrets",
    "computeLogManager", "scheduler", "runLauncher", "pythonLogs", "dagsterDaemon", "busybox",
    "migrate", "telemetry", "serviceAccount", "global", "retention", "concurrency",
    "additionalInstanceConfig",
}  # fmt: skip
RELEASE = "gdi"  # the release name of docs/deployment.md, for what the chart derives from it


# ---------------------------------------------------------------------------------------------
# reading the files


def _yaml(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of infra/Dockerfile, continuation lines joined."""
    instructions, pending = [], ""
    for raw in (INFRA / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, args = line.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    return instructions


def _final_stage() -> list[tuple[str, str]]:
    instructions = _dockerfile()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def _image_files() -> dict[str, Path]:
    """Files the final image gets from the repository: destination -> source."""
    files = {}
    for keyword, args in _final_stage():
        if keyword == "COPY" and "--from=" not in args:
            *sources, dest = [p for p in args.split() if not p.startswith("--")]
            for source in sources:
                files[dest] = REPO / source
    return files


def _in_image(args: list[str]) -> list[str]:
    """A command's arguments with the image's copied files replaced by their sources."""
    files = _image_files()
    return [str(files[a]) if a in files else a for a in args]


def _dockerfile_env() -> dict[str, str]:
    """The final image's ENV."""
    env = {}
    for keyword, args in _final_stage():
        if keyword == "ENV":
            for item in shlex.split(args):
                name, _, value = item.partition("=")
                env[name] = value
    return env


def _node_env_example() -> dict[str, str]:
    values = {}
    for line in (INFRA / "node.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def _env_refs(node) -> Iterator[str]:
    """The variables a dagster.yaml reads: every `{env: NAME}`."""
    if isinstance(node, Mapping):
        if set(node) == {"env"}:
            yield node["env"]
        for value in node.values():
            yield from _env_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _env_refs(value)


INSTANCE_ENV = set(_env_refs(_yaml(INFRA / "dagster.yaml")))


class _Recorder(dict):
    """An environment that remembers which variables were looked up."""

    def __init__(self, values: Mapping[str, str]):
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)


def _variables_read(tmp_path: Path, countries: set[str]) -> set[str]:
    """Every variable gdi_pipelines' settings read, for nodes `countries` on S3, with a nodes
    file and a credentials prefix, and each node's pseudonym key looked up."""
    key_file = tmp_path / "pseudonym.key"
    key_file.write_text("k" * 32)
    base = {
        "GDI_HOME": str(tmp_path / "home"),
        "GDI_LANDING_URI": "s3://landing/x",
        "GDI_WAREHOUSE_URI": "s3://warehouse/x",
        "GDI_PSEUDONYM_KEY_FILE": str(key_file),
    }
    read: set[str] = set()
    plain = _Recorder(base | {"GDI_COUNTRIES": ",".join(sorted(countries))})
    settings = load_settings(plain, tmp_path)
    for country in countries:
        pseudonym_key(settings, country, plain)
    read |= plain.read
    nodes = tmp_path / "nodes.yaml"
    nodes.write_text(yaml.safe_dump({"nodes": {"DK": {"credentials_prefix": "GDI_DK_"}}}))
    with_file = _Recorder(base | {"GDI_NODES_FILE": str(nodes)})
    load_settings(with_file, tmp_path)
    read |= with_file.read
    # a credentials prefix is the operator's choice: every AWS variable under any prefix
    prefixed = _Recorder({})
    S3Credentials.from_env(prefixed, "GDI_DK_")
    aws = {name for name in prefixed.read if name.startswith("AWS_")}
    return read | {f"GDI_{c}_{name}" for c in ("DK", "SE", "FI", "NO") for name in aws}


def _is_read(name: str, read: set[str]) -> bool:
    if name in read:
        return True
    prefixed = re.fullmatch(r"GDI_[A-Z0-9]+_(AWS_[A-Z_]+)", name)
    return bool(prefixed and prefixed.group(1) in read)


# ---------------------------------------------------------------------------------------------
# Dockerfile and build context


def test_dockerfile_builds_from_python_311_slim_without_dev_extras():
    instructions = _dockerfile()
    bases = [args.split()[0] for keyword, args in instructions if keyword == "FROM"]
    assert bases and all(base == "python:3.11-slim" for base in bases)
    installs = [
        args for keyword, args in instructions if keyword == "RUN" and "pip install" in args
    ]
    assert any(re.search(r"pip install [^&]*(\s)\.(\s|$)", args) for args in installs), installs
    assert not any("[dev]" in args or ".[" in args for args in installs)
    assert not [keyword for keyword, _ in instructions if keyword == "ENTRYPOINT"]
    (user,) = [args for keyword, args in instructions if keyword == "USER"]
    assert user not in ("root", "0")


def test_dockerfile_copies_only_files_that_exist_and_reach_the_build_context():
    ignored = [
        line.strip().rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for must in (".venv", ".gdi", "bench-results", "gdi_pipelines_tests"):
        assert must in ignored, f".dockerignore does not exclude {must}"
    copies = [args for keyword, args in _dockerfile() if keyword == "COPY"]
    sources = []
    for args in copies:
        parts = [p for p in args.split() if not p.startswith("--")]
        if "--from=" in args:
            continue
        sources += parts[:-1]
    assert sources
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: no such file in the repository"
        ancestry = [source, *(str(p) for p in Path(source).parents if str(p) != ".")]
        for pattern in ignored:
            assert not any(
                fnmatch.fnmatch(path, pattern.removeprefix("**/")) for path in ancestry
            ), f"COPY {source}: excluded from the build context by .dockerignore ({pattern})"


def test_dockerfile_cmd_is_a_valid_code_server_command_of_an_importable_module():
    (cmd,) = [json.loads(args) for keyword, args in _dockerfile() if keyword == "CMD"]
    assert cmd[:3] == ["dagster", "code-server", "start"]
    params = dagster_cli.commands["code-server"].commands["start"].make_context("start", cmd[3:])
    assert params.params["host"] == "0.0.0.0"
    module = importlib.import_module(params.params["module_name"])
    assert callable(module.defs)
    expose = [args for keyword, args in _dockerfile() if keyword == "EXPOSE"]
    assert expose == [str(params.params["port"])]
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert params.params["module_name"] == pyproject["tool"]["dagster"]["module_name"]
    assert params.params["location_name"] == pyproject["tool"]["dagster"]["code_location_name"]


def test_dockerfile_environment_is_read_by_the_project(tmp_path: Path):
    env = _dockerfile_env()
    read = _variables_read(tmp_path, {"SE"})
    unknown = [n for n in env if not (_is_read(n, read) or n in RUNTIME_ENV | INSTANCE_ENV)]
    assert not unknown, f"the Dockerfile sets variables nothing reads: {unknown}"
    assert env["DAGSTER_HOME"] == "/opt/dagster/dagster_home"
    assert _image_files()[f"{env['DAGSTER_HOME']}/dagster.yaml"] == INFRA / "dagster.yaml"


def test_the_installed_package_carries_its_data_files():
    """`pip install .` (the image) ships only what pyproject's package-data names besides
    Python modules: every other file gdi_pipelines opens at run time would be missing."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    package_data = pyproject["tool"].get("setuptools", {}).get("package-data", {})
    package_root = REPO / "gdi_pipelines"
    data_files = [
        p
        for p in package_root.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc", ".pyi") and "__pycache__" not in p.parts
    ]

    def shipped(path: Path) -> bool:
        for package, patterns in package_data.items():
            roots = (
                [d for d in path.parents if d.is_relative_to(package_root)]
                if package == "*"
                else [REPO / package.replace(".", "/")]
            )
            for root in roots:
                if path.is_relative_to(root):
                    rel = path.relative_to(root).as_posix()
                    if any(fnmatch.fnmatch(rel, pattern) for pattern in patterns):
                        return True
        return False

    missing = sorted(str(p.relative_to(REPO)) for p in data_files if not shipped(p))
    assert not missing, (
        "not in the installed package (add to [tool.setuptools.package-data] in pyproject.toml, "
        f'e.g. gdi_pipelines = ["domain/expectations/suites/*.json"]): {missing}'
    )


# ---------------------------------------------------------------------------------------------
# docker compose


def test_compose_stack_has_the_node_services_built_from_our_dockerfile():
    compose = _yaml(COMPOSE)
    services = compose["services"]
    assert set(services) >= {"postgres", "minio", *OUR_IMAGE_SERVICES}
    for name in OUR_IMAGE_SERVICES:
        build = services[name]["build"]
        assert (COMPOSE.parent / build["context"]).resolve() == REPO
        assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == (
            INFRA / "Dockerfile"
        )
    # webserver and daemon load the workspace the image carries, through CLIs that accept
    # exactly these options
    copied = set(_image_files())
    workspace = str(INFRA / "workspace.yaml")
    webserver = services["dagster-webserver"]["command"]
    assert webserver[0] == "dagster-webserver"
    options = webserver_cli.make_context("dagster-webserver", _in_image(webserver[1:])).params
    assert options["workspace"] == (workspace,)
    daemon = services["dagster-daemon"]["command"]
    assert daemon[:2] == ["dagster-daemon", "run"]
    options = daemon_cli.commands["run"].make_context("run", _in_image(daemon[2:])).params
    assert options["workspace"] == (workspace,)
    init = services["minio-init"]["command"]
    assert init[0] == "python" and init[1] in copied
    assert "command" not in services["gdi-code"]  # the image's CMD: the code server
    assert services["gdi-code"]["depends_on"]["minio-init"]["condition"] == (
        "service_completed_successfully"
    )


def test_workspace_points_at_the_compose_code_server():
    (entry,) = _yaml(INFRA / "workspace.yaml")["load_from"]
    grpc = entry["grpc_server"]
    assert grpc["host"] in _yaml(COMPOSE)["services"]
    (cmd,) = [json.loads(args) for keyword, args in _dockerfile() if keyword == "CMD"]
    params = dagster_cli.commands["code-server"].commands["start"].make_context("start", cmd[3:])
    assert grpc["port"] == params.params["port"]
    assert grpc["location_name"] == params.params["location_name"]


def test_compose_provides_the_instance_variables_to_every_instance_process():
    assert {"DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_HOST"} <= INSTANCE_ENV
    services = _yaml(COMPOSE)["services"]
    for name in INSTANCE_SERVICES:
        env = services[name]["environment"]
        assert set(env) >= INSTANCE_ENV, f"{name} lacks {INSTANCE_ENV - set(env)}"
        assert env["DAGSTER_PG_HOST"] in services  # the stack's PostgreSQL
    pg = services["postgres"]["environment"]
    code = services["gdi-code"]["environment"]
    assert code["DAGSTER_PG_DB"] == pg["POSTGRES_DB"]
    assert code["DAGSTER_PG_USERNAME"] == pg["POSTGRES_USER"]
    assert code["DAGSTER_PG_PASSWORD"] == pg["POSTGRES_PASSWORD"]


def test_compose_and_node_env_name_only_variables_the_project_reads(tmp_path: Path):
    node_env = _node_env_example()
    countries = set(node_env["GDI_COUNTRIES"].split(","))
    read = _variables_read(tmp_path, countries)
    services = _yaml(COMPOSE)["services"]
    for name in OUR_IMAGE_SERVICES:
        env = services[name].get("environment", {})
        unknown = [n for n in env if not (_is_read(n, read) or n in RUNTIME_ENV | INSTANCE_ENV)]
        assert not unknown, f"compose service {name} sets variables nothing reads: {unknown}"
        if "env_file" in services[name]:
            assert services[name]["env_file"] == ["node.env"]
    commented = re.findall(
        r"^#\s*([A-Z][A-Z0-9_]+)=", (INFRA / "node.env.example").read_text(), re.MULTILINE
    )
    unknown = [n for n in [*node_env, *commented] if not _is_read(n, read)]
    assert not unknown, f"node.env.example names variables gdi_pipelines does not read: {unknown}"
    # the settings in the example load, and every landing/warehouse root is on the stack's S3
    settings = load_settings({**node_env, "GDI_HOME": str(tmp_path / "home")}, tmp_path)
    assert settings.landing.is_s3 and settings.warehouse.is_s3
    assert settings.landing.s3.endpoint_url == "http://minio:9000"


def test_compose_holds_no_secret_but_marked_local_dev_defaults():
    text = COMPOSE.read_text()
    compose = _yaml(COMPOSE)
    for service in compose["services"].values():
        for name, value in (service.get("environment") or {}).items():
            if not SECRETISH.search(name) or name.endswith("_FILE"):
                continue
            value = str(value)
            assert value.startswith("${") and value.endswith("}"), f"{name}: literal secret"
            if ":-" in value:
                assert "local-dev" in value, f"{name}: a default that is not marked local-dev"
                (line,) = {ln for ln in text.splitlines() if f"{name}: {value}" in ln}
                assert "LOCAL-DEV DEFAULT" in line
    for name, value in _node_env_example().items():
        if SECRETISH.search(name) and not name.endswith("_FILE"):
            assert value == "" or "local-dev" in value, f"node.env.example {name}: a secret"


def test_compose_pseudonym_key_comes_from_a_declared_secret_file():
    compose = _yaml(COMPOSE)
    code = compose["services"]["gdi-code"]
    path = code["environment"]["GDI_PSEUDONYM_KEY_FILE"]
    secret = path.removeprefix("/run/secrets/")
    assert secret in code["secrets"]
    declared = compose["secrets"][secret]["file"]
    ignored = (INFRA / ".gitignore").read_text().splitlines()
    assert declared.split("/")[0] + "/" in ignored, "the secret's folder must be ignored by git"
    assert "node.env" in ignored
    # the code location's GDI_HOME is the volume the Dockerfile's GDI_HOME names
    targets = {volume.split(":")[1] for volume in code["volumes"]}
    assert _dockerfile_env()["GDI_HOME"] in targets


def test_create_buckets_creates_every_node_bucket_once(s3_env, monkeypatch, tmp_path: Path):
    spec = importlib.util.spec_from_file_location("create_buckets", INFRA / "create_buckets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    suffix = tmp_path.name.lower().replace("_", "-")[-20:]
    nodes = tmp_path / "nodes.yaml"
    nodes.write_text(
        yaml.safe_dump(
            {
                "nodes": {
                    "SE": {},
                    "DK": {
                        "landing_uri": f"s3://dk-landing-{suffix}/in",
                        "credentials_prefix": "GDI_DK_",
                    },
                }
            }
        )
    )
    monkeypatch.setenv("GDI_NODES_FILE", str(nodes))
    monkeypatch.setenv("GDI_LANDING_URI", f"s3://landing-{suffix}/landing")
    monkeypatch.setenv("GDI_WAREHOUSE_URI", f"s3://warehouse-{suffix}/warehouse")
    monkeypatch.setenv("GDI_DK_AWS_ENDPOINT_URL", s3_env.endpoint)
    expected = sorted(f"{b}-{suffix}" for b in ("dk-landing", "landing", "warehouse"))
    assert module.create_buckets(wait_seconds=5) == expected
    existing = {b["Name"] for b in s3_env.client().list_buckets()["Buckets"]}
    assert set(expected) <= existing
    assert module.create_buckets(wait_seconds=5) == []  # idempotent


# ---------------------------------------------------------------------------------------------
# Helm values


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _chart_run_launcher(values: dict) -> dict:
    """The run_launcher the chart writes into the instance for K8sRunLauncher values (its
    instance template: camelCase values as snake_case config, env sources as names, and the
    fields the chart fills in itself)."""
    k8s = values["runLauncher"]["config"]["k8sRunLauncher"]
    config = {
        "instance_config_map": f"{RELEASE}-dagster-instance",
        "postgres_password_secret": values["global"]["postgresqlSecretName"],
        "dagster_home": "/opt/dagster/dagster_home",
        "service_account_name": f"{RELEASE}-dagster",
        "job_namespace": RELEASE,
        "env_config_maps": [f"{RELEASE}-dagster-pipeline-env"],
    }
    for key, value in k8s.items():
        if key in ("envConfigMaps", "envSecrets"):
            config.setdefault(_snake(key), []).extend(item["name"] for item in value)
        elif key == "runK8sConfig":
            config["run_k8s_config"] = {_snake(k): v for k, v in value.items()}
        else:
            config[_snake(key)] = value
    return {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": config}


def _chart_instance(values: dict) -> dict:
    pg = values["postgresql"]
    daemon = values["dagsterDaemon"]
    queued = daemon["runCoordinator"]["config"]["queuedRunCoordinator"]
    return {
        "storage": {
            "postgres": {
                "postgres_db": {
                    "username": pg["postgresqlUsername"],
                    "password": {"env": "DAGSTER_PG_PASSWORD"},
                    "hostname": pg["postgresqlHost"],
                    "db_name": pg["postgresqlDatabase"],
                    "port": pg["service"]["port"],
                    "params": pg["postgresqlParams"],
                    "scheme": pg["postgresqlScheme"],
                }
            }
        },
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": daemon["runCoordinator"]["type"],
            "config": {_snake(k): v for k, v in queued.items()},
        },
        "run_launcher": _chart_run_launcher(values),
        "run_retries": {_snake(k): v for k, v in daemon["runRetries"].items()},
        "telemetry": {"enabled": values["telemetry"]["enabled"]},
    }


def _valid(config_schema, value) -> None:
    result = process_config(convert_potential_field(config_schema).config_type, value)
    assert result.success, [error.message for error in result.errors]


def test_helm_values_use_only_chart_fields_and_an_external_postgresql():
    values = _yaml(VALUES)
    assert set(values) <= CHART_TOP_LEVEL, set(values) - CHART_TOP_LEVEL
    assert values["postgresql"]["enabled"] is False
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["postgresql"]["postgresqlPassword"] == ""  # read from the secret instead
    assert values["global"]["postgresqlSecretName"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"


def test_helm_instance_validates_and_equals_infra_dagster_yaml(monkeypatch):
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "from-the-secret")  # the chart sets it from it
    values = _yaml(VALUES)
    instance = _chart_instance(values)
    _valid(dagster_instance_config_schema(), instance)
    _valid(K8sRunLauncher.config_type(), instance["run_launcher"]["config"])
    _valid(QueuedRunCoordinator.config_type(), instance["run_coordinator"]["config"])
    _valid(DagsterPostgresStorage.config_type(), instance["storage"]["postgres"])
    production = _yaml(INFRA / "dagster.yaml")
    assert instance["run_coordinator"]["class"] == production["run_coordinator"]["class"]
    assert instance["run_coordinator"]["config"] == production["run_coordinator"]["config"]
    limits = instance["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert [limit["key"] for limit in limits] == ["gdi/country"]
    assert instance["run_retries"] == production["run_retries"]
    assert instance["telemetry"] == production["telemetry"]
    ours = instance["storage"]["postgres"]["postgres_db"]
    theirs = production["storage"]["postgres"]["postgres_db"]
    assert (ours["scheme"], ours["port"]) == (theirs["scheme"], theirs["port"])


def test_helm_run_launcher_rejects_what_dagster_k8s_does_not_know():
    """The rendering above is strict: an unknown key under k8sRunLauncher fails validation."""
    values = copy.deepcopy(_yaml(VALUES))
    values["runLauncher"]["config"]["k8sRunLauncher"]["jobNamspace"] = "typo"
    config = _chart_run_launcher(values)["config"]
    result = process_config(
        convert_potential_field(K8sRunLauncher.config_type()).config_type, config
    )
    assert not result.success


def _chart_schema(name: str) -> tuple[dict, Registry]:
    """A values schema of the chart from data/ (PROVENANCE.md), and a registry for its `$ref`s
    to Kubernetes' definitions online (kubernetesjsonschema.dev, or raw.githubusercontent.com/
    yannh/kubernetes-json-schema in later charts): offline, each one is "any object"."""
    schema = json.loads((DATA / name).read_text())
    documents: dict[str, dict] = {}

    def collect(node) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("https://"):
                url, _, pointer = ref.partition("#")
                target = documents.setdefault(url, {})
                for part in pointer.strip("/").split("/"):
                    target = target.setdefault(part, {})
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(schema)
    assert documents, "expected Kubernetes references in the chart's schema"
    registry = Registry().with_resources(
        (url, Resource.from_contents(doc, default_specification=DRAFT202012))
        for url, doc in documents.items()
    )
    return schema, registry


def _as_overlay(schema: dict) -> dict:
    """The schema for a file given to `helm install -f`. Helm validates the chart's own
    values.yaml with the file merged into it: maps are merged, so the chart's defaults fill
    every `required` key of a nested map (dropped here, at every depth: dropping the top-level
    `required` only, as the user-deployment test does, leaves 29 such keys missing, e.g.
    dagsterDaemon.image, global.dagsterHome, postgresql.image, k8sRunLauncher.envVars); lists
    are replaced, so an item of a list (a user deployment, a tag concurrency limit) must be
    complete: under `items`, the original `$defs` apply, with their `required`. Types, enums,
    `additionalProperties: false` and `if`/`then` all stay."""

    def strip(node):
        if isinstance(node, list):
            return [strip(value) for value in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key == "required":
                continue
            if key == "items":
                out[key] = value  # its $refs still point at the complete $defs
            elif key == "properties":
                out[key] = {name: strip(sub) for name, sub in value.items()}
            elif key == "$ref" and value.startswith("#/$defs/"):
                out[key] = "#/$overlay/" + value.removeprefix("#/$defs/")
            else:
                out[key] = strip(value)
        return out

    top = strip({key: value for key, value in schema.items() if key != "$defs"})
    return {**top, "$defs": schema["$defs"], "$overlay": strip(schema["$defs"])}


def _messages(errors) -> Iterator[str]:
    for error in errors:
        yield error.message
        yield from _messages(error.context)  # why each branch of an anyOf failed


def _nulls(node, path=()) -> Iterator[tuple]:
    if node is None:
        yield path
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _nulls(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _nulls(value, (*path, i))


def test_helm_values_validate_against_the_charts_schema():
    """The whole of infra/helm/values.yaml meets the chart's values.schema.json, as Helm checks
    it when installing (the schema is a snapshot, not verified to be 1.13.27's: PROVENANCE.md)."""
    schema, registry = _chart_schema("dagster.values.schema.json")
    values = _yaml(VALUES)
    # Helm deletes a key set to null instead of merging it: the overlay would not hold then
    assert not list(_nulls(values)), list(_nulls(values))
    Draft202012Validator(_as_overlay(schema), registry=registry).validate(values)
    # the top level admits any key (additionalProperties: true): a misspelt one would pass
    assert set(values) <= set(schema["properties"]), set(values) - set(schema["properties"])
    # the snapshot predates the chart's top-level `concurrency`; every other field is there
    assert CHART_TOP_LEVEL - set(schema["properties"]) <= {"concurrency"}


def _qrc(values: dict) -> dict:
    return values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]


@pytest.mark.parametrize(
    ("break_it", "error"),
    [
        (
            lambda v: v["runLauncher"].update(type="K8sJobLauncher"),
            "'K8sJobLauncher' is not one of",
        ),
        (
            lambda v: v["runLauncher"]["config"]["k8sRunLauncher"].update(jobNamspace="gdi"),
            "'jobNamspace' was unexpected",
        ),
        (
            lambda v: v["dagsterDaemon"].update(runRetry={"enabled": True}),
            "'runRetry' was unexpected",
        ),
        (lambda v: _qrc(v).update(maxConcurrentRuns="8"), "'8' is not of type 'integer'"),
        (lambda v: _qrc(v)["tagConcurrencyLimits"][0].pop("limit"), "'limit' is a required"),
    ],
    ids=["enum", "misspelt-launcher-field", "misspelt-daemon-field", "type", "list-item-required"],
)
def test_helm_values_schema_validation_can_fail(break_it, error):
    """The validation above is not vacuous: what the chart rejects, it rejects (an item of a
    list keeps its `required`, the chart's defaults do not fill it)."""
    schema, registry = _chart_schema("dagster.values.schema.json")
    values = copy.deepcopy(_yaml(VALUES))
    break_it(values)
    validator = Draft202012Validator(_as_overlay(schema), registry=registry)
    messages = list(_messages(validator.iter_errors(values)))
    assert any(error in message for message in messages), messages


def test_helm_user_deployment_validates_against_the_charts_schema():
    schema, registry = _chart_schema("dagster-user-deployments.values.schema.json")
    section = _yaml(VALUES)["dagster-user-deployments"]
    relaxed = {k: v for k, v in schema.items() if k != "required"}  # chart defaults fill these
    Draft202012Validator(relaxed, registry=registry).validate(section)
    (deployment,) = section["deployments"]
    Draft202012Validator(
        {"$defs": schema["$defs"], "$ref": "#/$defs/UserDeployment"}, registry=registry
    ).validate(deployment)
    assert set(section) - set(schema["properties"]) <= {"enabled", "enableSubchart"}
    # a misspelt field is not silently accepted where the chart forbids it
    bad = copy.deepcopy(deployment)
    bad["image"]["pullPolicy"] = "Sometimes"
    with pytest.raises(Exception, match="Sometimes"):
        Draft202012Validator(
            {"$defs": schema["$defs"], "$ref": "#/$defs/UserDeployment"}, registry=registry
        ).validate(bad)


def test_helm_code_server_runs_our_module_with_the_dockerfiles_port():
    (deployment,) = _yaml(VALUES)["dagster-user-deployments"]["deployments"]
    args = ["-h", "0.0.0.0", "-p", str(deployment["port"]), *deployment["codeServerArgs"]]
    params = dagster_cli.commands["code-server"].commands["start"].make_context("start", args)
    assert callable(importlib.import_module(params.params["module_name"]).defs)
    (cmd,) = [json.loads(a) for keyword, a in _dockerfile() if keyword == "CMD"]
    image_params = (
        dagster_cli.commands["code-server"].commands["start"].make_context("start", cmd[3:])
    )
    assert params.params["port"] == image_params.params["port"]
    assert params.params["module_name"] == image_params.params["module_name"]


def test_helm_env_and_secrets_are_what_the_project_reads(tmp_path: Path):
    values = _yaml(VALUES)
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    env = {item["name"]: item for item in deployment["env"]}
    countries = set(env["GDI_COUNTRIES"]["value"].split(","))
    read = _variables_read(tmp_path, countries)
    unknown = [name for name in env if not _is_read(name, read)]
    assert not unknown, f"the user deployment sets variables gdi_pipelines does not read: {unknown}"
    docs = (REPO / "docs" / "deployment.md").read_text()
    secrets = set()
    for name, item in env.items():
        if SECRETISH.search(name):
            assert "value" not in item, f"{name}: a literal secret in the values"
            ref = item["valueFrom"]["secretKeyRef"]
            assert ref["key"] == name
            secrets.add(ref["name"])
    for country in countries:
        assert f"GDI_PSEUDONYM_KEY_{country}" in env, f"no pseudonym key for node {country}"
    # every Kubernetes object the values expect is created by the steps of the guide
    secrets.add(values["global"]["postgresqlSecretName"])
    for secret in secrets:
        assert f"create secret generic {secret}" in docs, (
            f"docs/deployment.md never creates {secret}"
        )
    for volume in deployment["volumes"]:
        assert volume["persistentVolumeClaim"]["claimName"] in docs
    # the reference volume is where the settings look by default, and writable (not read-only)
    mount = {m["name"]: m for m in deployment["volumeMounts"]}["reference"]
    assert mount["mountPath"] == join_uri(_dockerfile_env()["GDI_HOME"], "reference")
    assert not mount.get("readOnly")
    uid = next(a for k, a in _final_stage() if k == "ARG" and a.startswith("GDI_UID="))
    assert deployment["podSecurityContext"]["runAsUser"] == int(uid.split("=")[1])
