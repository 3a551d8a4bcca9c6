"""The Kubernetes setup of the class (classroom/k8s/), what can be checked without a cluster.

- values.yaml parses, and merged over the chart's defaults it validates against the values
  schema of Zero to JupyterHub 4.4.0 (vendored in classroom/k8s/vendor/ with its commit): the
  schema forbids unknown keys almost everywhere, so a misspelt or invented key fails here.
- the single-user image's environment is the course's: the Dockerfile installs environment.yml
  unchanged (whose packages equal pyproject.toml's, tests/test_environment.py), and adds only
  requirements-class.txt, which holds no package of the course.
- the exchange is ngshare (a hub service), servers are culled, students have resource limits.
- the local class's users' environment (classroom/.build/user-env, when built) holds the course's
  dependencies.

These need no root and no network; they run in `make class-test` (tests/classroom/).
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "classroom" / "k8s"
VENDOR = K8S / "vendor"
SCHEMA_COMMIT = "5c5f5df751588a68a7781ead01d0f62e88e2e72f"


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ;]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _merge(base: dict, override: dict) -> dict:
    """Helm's merge of a values file over the chart's defaults (maps merge, the rest replaces)."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def values() -> dict:
    return yaml.safe_load((K8S / "values.yaml").read_text())


def test_the_vendored_schema_names_its_source_commit() -> None:
    schema = json.loads((VENDOR / "z2jh-4.4.0-values.schema.json").read_text())
    assert SCHEMA_COMMIT in schema["$comment"]
    assert SCHEMA_COMMIT in (VENDOR / "z2jh-4.4.0-values.yaml").read_text()


def test_values_validate_against_the_z2jh_chart_schema() -> None:
    schema = json.loads((VENDOR / "z2jh-4.4.0-values.schema.json").read_text())
    schema.pop("$comment")
    defaults = yaml.safe_load((VENDOR / "z2jh-4.4.0-values.yaml").read_text())
    jsonschema.validate(_merge(defaults, values()), schema)


def test_the_schema_check_catches_an_invented_key() -> None:
    schema = json.loads((VENDOR / "z2jh-4.4.0-values.schema.json").read_text())
    schema.pop("$comment")
    defaults = yaml.safe_load((VENDOR / "z2jh-4.4.0-values.yaml").read_text())
    wrong = _merge(values(), {"singleuser": {"memmory": {"limit": "1G"}}})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_merge(defaults, wrong), schema)


def test_the_class_on_kubernetes_has_ngshare_formgrader_limits_and_culling() -> None:
    v = values()
    assert v["hub"]["services"]["ngshare"]["url"].startswith("http://ngshare.")
    assert "ngshare_exchange" in (K8S / "nbgrader_config.py").read_text()
    assert "formgrader" in (K8S / "swin-class-start").read_text()
    assert v["singleuser"]["cmd"][0] == "swin-class-start"
    assert v["singleuser"]["memory"]["limit"] and v["singleuser"]["memory"]["guarantee"]
    assert v["singleuser"]["cpu"]["limit"]
    assert v["cull"]["enabled"] is True and v["cull"]["timeout"] > 0


def _dockerfile_runs() -> list[str]:
    text = (K8S / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def test_the_image_installs_the_courses_environment_yml_unchanged() -> None:
    lines = _dockerfile_runs()
    copies = [line for line in lines if line.startswith("COPY")]
    assert any(re.search(r"\benvironment\.yml\b.*\bpyproject\.toml\b", c) for c in copies)
    installs = [line for line in lines if line.startswith("RUN") and
                re.search(r"\b(pip|mamba|conda) (install|env|update)", line)]
    # Exactly two installs: the course's environment.yml, and the class's plumbing.
    assert len(installs) == 2, installs
    assert "env update --name base --file environment.yml" in installs[0]
    assert "pip install --no-cache-dir -r /tmp/requirements-class.txt" in installs[1]
    # The solutions never go into the image.
    assert not any("assignments" in c for c in copies)


def _course_packages() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs += extra
    return {_name(s) for s in specs}


def test_the_image_adds_no_package_of_the_course() -> None:
    added = {_name(line) for line in (K8S / "requirements-class.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")}
    assert added == {"jupyterhub", "ngshare-exchange"}
    assert not added & _course_packages()


def test_the_local_users_environment_holds_the_course() -> None:
    python = REPO / "classroom" / ".build" / "user-env" / "bin" / "python"
    if not python.exists():
        pytest.skip("classroom/.build/user-env not built (classroom/class.sh setup builds it)")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {_name(s) for s in project["dependencies"] + project["optional-dependencies"]["test"]}
    out = subprocess.run([str(python), "-m", "pip", "list", "--format=json"], text=True,
                         capture_output=True, check=True).stdout
    installed = {p["name"].lower().replace("_", "-") for p in json.loads(out)}
    assert wanted <= installed, wanted - installed
    assert "swin-edu" in installed and "jupyterhub" in installed
    # Installed from a copy, not editable from the checkout.
    where = subprocess.run([str(python), "-c", "import swin_edu; print(swin_edu.__file__)"],
                           text=True, capture_output=True, check=True, cwd="/").stdout
    assert "site-packages" in where
