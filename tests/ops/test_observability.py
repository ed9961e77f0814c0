"""The observability config in ops/ is consistent with itself and with what the suite really exports.

- every alert rule has expr, `for`, a severity label and a runbook_url whose anchor is a RUNBOOK.md heading;
- every metric named in an alert or dashboard PromQL expression is exported by the RUNNING suite (the
  services' /metrics and Traefik's metrics entrypoint), apart from series Prometheus makes up itself;
- the same checking functions reject a deliberately broken copy (misspelt metric, missing `for`);
- the Prometheus config parses, loads the rule file and scrapes Traefik and every service.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from harness import Suite

ROOT = Path(__file__).resolve().parents[2]
OPS = ROOT / "ops"
ALERTS = OPS / "prometheus" / "alerts.yml"
PROMETHEUS = OPS / "prometheus" / "prometheus.yml"
DASHBOARD = OPS / "grafana" / "dashboards" / "suite.json"
RUNBOOK = OPS / "RUNBOOK.md"
SERVICE_PORTS = {"market": 8101, "news": 8102, "sentiment": 8103, "ai": 8104, "stream": 8105}
SEVERITIES = {"critical", "warning", "info"}

# Series Prometheus synthesises itself (scrape health and alert state); no target exports them.
SYNTHETIC = {
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
    "ALERTS",
    "ALERTS_FOR_STATE",
}

# Words that look like identifiers in PromQL but are not metric names.
KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "atan2",
    "inf",
    "nan",
    "start",
    "end",
}

# Suffixes a family of the given type exposes as series (`# TYPE x histogram` -> x_bucket, x_sum, x_count).
SERIES_SUFFIXES = {
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created"),
    "counter": ("_created",),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
}


# -- PromQL tokenizer --------------------------------------------------------------------------------------

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_NAME_MATCHER = re.compile(r'__name__\s*=\s*"([^"]*)"')
_COMMENT = re.compile(r"#[^\n]*")
_VARIABLE = re.compile(r"\$\{[^}]*\}|\$\w+")  # Grafana template variables: $service, $__rate_interval, ${x}
_BRACES = re.compile(r"\{[^{}]*\}")
_BRACKETS = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_OFFSET = re.compile(r"\boffset\s+-?\w+")
_NUMBER = re.compile(
    r"(?<![\w:])(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"(?:ms|[smhdwy])?(?![\w:])"
)
_IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects: identifiers that are not functions, keywords, label names
    (inside `{}` or grouping clauses), durations, numbers, strings or Grafana variables."""
    names = set(_NAME_MATCHER.findall(expr))
    text = _STRING.sub('""', expr)
    text = _COMMENT.sub(" ", text)
    text = _VARIABLE.sub(" ", text)
    text = _BRACES.sub(" ", text)
    text = _BRACKETS.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = _OFFSET.sub(" ", text)
    text = _NUMBER.sub(" ", text)
    for match in _IDENTIFIER.finditer(text):
        word = match.group()
        if word.lower() in KEYWORDS:
            continue
        if re.match(r"\s*\(", text[match.end() :]):  # a function or aggregation call
            continue
        names.add(word)
    return names


def exported_series(exposition: str) -> set[str]:
    """Every series name an exposition can carry, from its `# TYPE` lines (present even before a sample)."""
    names: set[str] = set()
    for line in exposition.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[:2] == ["#", "TYPE"]:
            name, kind = parts[2], parts[3]
            names.add(name)
            names.update(name + suffix for suffix in SERIES_SUFFIXES.get(kind, ()))
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    return names


# -- checks (return problems; an empty list means valid) ----------------------------------------------------


def runbook_anchors(markdown: str) -> set[str]:
    """GitHub-style heading anchors, plus explicit `<a id="...">` / `<a name="...">` anchors."""
    anchors = set(re.findall(r'<a\s+(?:id|name)="([^"]+)"', markdown))
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", markdown, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def rules(alerts: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for group in alerts.get("groups") or []:
        yield from group.get("rules") or []


def alert_problems(alerts: dict[str, Any], anchors: set[str]) -> list[str]:
    problems = []
    if not alerts.get("groups"):
        problems.append("no rule groups")
    for group in alerts.get("groups") or []:
        if not group.get("name") or not group.get("rules"):
            problems.append(f"group without name or rules: {group!r}")
    seen = set()
    for rule in rules(alerts):
        name = rule.get("alert") or rule.get("record") or "<unnamed>"
        if "alert" not in rule:
            continue  # recording rules need no for/severity/runbook
        if name in seen:
            problems.append(f"{name}: duplicate alert name")
        seen.add(name)
        if not str(rule.get("expr") or "").strip():
            problems.append(f"{name}: no expr")
        if not re.fullmatch(r"(\d+(ms|[smhdwy]))+", str(rule.get("for") or "")):
            problems.append(f"{name}: missing or invalid `for`")
        if (rule.get("labels") or {}).get("severity") not in SEVERITIES:
            problems.append(f"{name}: labels.severity missing or not one of {sorted(SEVERITIES)}")
        annotations = rule.get("annotations") or {}
        for key in ("summary", "description", "runbook_url"):
            if not annotations.get(key):
                problems.append(f"{name}: annotations.{key} missing")
        url = str(annotations.get("runbook_url") or "")
        if url:
            path, _, anchor = url.partition("#")
            if not path.endswith("RUNBOOK.md") or not anchor:
                problems.append(f"{name}: runbook_url {url!r} is not ops/RUNBOOK.md#<anchor>")
            elif anchor not in anchors:
                problems.append(f"{name}: runbook anchor #{anchor} is not a heading in RUNBOOK.md")
    return problems


def dashboard_exprs(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, expr) for every query target, nested rows included."""

    def walk(panels: Iterable[dict[str, Any]]) -> Iterator[tuple[str, str]]:
        for panel in panels:
            for target in panel.get("targets") or []:
                if target.get("expr"):
                    yield panel.get("title", "?"), target["expr"]
            yield from walk(panel.get("panels") or [])

    yield from walk(dashboard.get("panels") or [])
    for variable in (dashboard.get("templating") or {}).get("list") or []:
        query = variable.get("query")
        query = query.get("query") if isinstance(query, dict) else query
        match = re.fullmatch(r"\s*label_values\(\s*(.+?)\s*,\s*\w+\s*\)\s*", str(query or ""))
        if match:
            yield f"variable {variable.get('name')}", match.group(1)


def all_exprs(alerts: dict[str, Any], dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    found = [
        (f"alert {rule.get('alert') or rule.get('record')}", str(rule.get("expr") or "")) for rule in rules(alerts)
    ]
    return found + list(dashboard_exprs(dashboard))


def metric_problems(exprs: list[tuple[str, str]], exported: set[str]) -> list[str]:
    problems = []
    for where, expr in exprs:
        for name in sorted(metric_names(expr)):
            if name not in exported and name not in SYNTHETIC:
                problems.append(f"{where}: metric {name!r} is not exported by the suite")
    return problems


def suite_metric_labels() -> dict[str, set[str]]:
    """Series name -> label names for every metric the Python services define (Traefik's are not known here)."""
    from prometheus_client.metrics import MetricWrapperBase

    import stream_service.metrics
    import suite_shared.metrics

    labels: dict[str, set[str]] = {}
    for module in (suite_shared.metrics, stream_service.metrics):
        for metric in vars(module).values():
            if not isinstance(metric, MetricWrapperBase):
                continue
            names = set(metric._labelnames) | {"job", "instance"}  # target labels Prometheus adds
            if metric._type == "counter":
                labels[metric._name + "_total"] = names
            elif metric._type == "histogram":
                labels[metric._name + "_bucket"] = names | {"le"}
                labels[metric._name + "_sum"] = labels[metric._name + "_count"] = names
            else:
                labels[metric._name] = names
    return labels


_SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^{}]*)\}")
_MATCHER = re.compile(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)")
_GROUP_LABELS = re.compile(r"\b(?:by|without|on|ignoring)\s*\(([^()]*)\)")


def label_problems(exprs: list[tuple[str, str]], known: dict[str, set[str]]) -> list[str]:
    """Label names in `metric{...}` matchers must be labels of that metric; labels in by/without/on/ignoring
    must belong to some metric of the expression (checked only when every metric in it is known)."""
    problems = []
    for where, expr in exprs:
        text = _VARIABLE.sub("x", _STRING.sub('""', expr))
        for metric, matchers in _SELECTOR.findall(text):
            if metric in known:
                for label in set(_MATCHER.findall(matchers)) - known[metric] - {"__name__"}:
                    problems.append(f"{where}: {metric} has no label {label!r}")
        metrics = metric_names(expr)
        if metrics and metrics <= known.keys():
            available = set().union(*(known[m] for m in metrics))
            for group in _GROUP_LABELS.findall(text):
                for label in {g.strip() for g in group.split(",") if g.strip()} - available:
                    problems.append(f"{where}: no metric in the expression has label {label!r}")
    return problems


def cache_result_problems(exprs: list[tuple[str, str]], cache_source: str) -> list[str]:
    """`result` values matched on cache_requests_total must be statuses the cache really counts."""
    statuses = {
        status
        for line in cache_source.splitlines()
        if "CacheResult(" in line
        for status in re.findall(r'"([a-z_]+)"', line)
    }
    problems = []
    for where, expr in exprs:
        for matchers in re.findall(r"cache_requests_total\s*\{([^{}]*)\}", expr):
            for value in re.findall(r'result\s*=~?\s*"([^"]*)"', matchers):
                for status in value.split("|"):
                    if status not in statuses:
                        problems.append(f"{where}: cache result {status!r} is never counted")
    return problems


# -- fixtures -------------------------------------------------------------------------------------------------


def load_alerts() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ALERTS.read_text())
    return data


def load_dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


@pytest.fixture(scope="module")
def exported(suite: Suite) -> set[str]:
    """Series names exported by the running services and Traefik (after traffic through the gateway)."""
    with httpx.Client(base_url=suite.gateway_url, timeout=15.0) as gateway:
        for path in ("/api/health", "/api/market?limit=5", "/api/price/BTC", "/api/nope-not-a-route"):
            gateway.get(path)
    names: set[str] = set()
    for service in SERVICE_PORTS:
        response = httpx.get(f"{suite.service_url(service)}/metrics", timeout=10.0)
        assert response.status_code == 200, f"{service} /metrics: {response.status_code}"
        names |= exported_series(response.text)
    metrics_port = suite.env.values["GATEWAY_METRICS_PORT"]
    traefik = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10.0)
    assert traefik.status_code == 200
    traefik_names = exported_series(traefik.text)
    assert any(name.startswith("traefik_") for name in traefik_names), "Traefik exported no traefik_* metrics"
    return names | traefik_names


# -- tests ----------------------------------------------------------------------------------------------------


def test_every_alert_has_for_severity_annotations_and_a_runbook_anchor() -> None:
    assert alert_problems(load_alerts(), runbook_anchors(RUNBOOK.read_text())) == []


def test_alerts_cover_the_required_conditions() -> None:
    exprs = " ".join(str(rule["expr"]) for rule in rules(load_alerts()))
    for needle in (
        "up == 0",
        'status=~"5.."',
        "upstream_requests_total",
        "upstream_circuit_open",
        'result="stale"',
        "stream_messages_dropped_total",
        "histogram_quantile(0.99",
        "redis_available == 0",
        "ingest_leader",
        "ingest_rest_fallback_active",
        "model_inference_seconds",
    ):
        assert needle in exprs, needle


def test_every_runbook_section_belongs_to_an_alert() -> None:
    names = {str(rule["alert"]).lower() for rule in rules(load_alerts())}
    sections = {slug for slug in runbook_anchors(RUNBOOK.read_text()) if slug != "runbook"}
    assert sections <= names, sections - names


def test_dashboard_parses_and_every_panel_has_a_query() -> None:
    dashboard = load_dashboard()
    assert dashboard["uid"] and dashboard["title"]
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    assert all(panel.get("targets") for panel in panels)
    titles = " ".join(panel["title"].lower() for panel in panels)
    for topic in (
        "request rate",
        "error rate",
        "p99",
        "cache hit",
        "upstream",
        "fallback",
        "websocket",
        "nats",
        "model inference",
        "traefik",
    ):
        assert topic in titles, topic


def test_tokenizer_finds_metrics_and_skips_functions_labels_and_keywords() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (service, le) (rate(http_request_duration_seconds_bucket"
        '{route!="unmatched", status=~"5.."}[5m] offset 1h))) > 0.5 and on(service) up == 0 '
        'or sum(rate(x:recorded[$__rate_interval])) without (instance) / {__name__="named_metric"}'
    )
    assert metric_names(expr) == {"http_request_duration_seconds_bucket", "up", "x:recorded", "named_metric"}
    assert metric_names("sum(rate(a_total[5m])) by (le) / ignoring(code) group_left(x) b_total") == {
        "a_total",
        "b_total",
    }
    assert metric_names("1e3 * 2 + vector(1)") == set()


def test_exposition_parser_expands_histograms_from_type_lines() -> None:
    text = '# HELP h x\n# TYPE h histogram\n# TYPE c_total counter\nc_total{a="1"} 2.0\n'
    assert {"h", "h_bucket", "h_sum", "h_count", "c_total", "c_total_created"} <= exported_series(text)
    assert "c" not in exported_series(text)


def test_every_metric_in_alerts_and_dashboard_is_exported_by_the_running_suite(exported: set[str]) -> None:
    exprs = all_exprs(load_alerts(), load_dashboard())
    used = set().union(*(metric_names(expr) for _, expr in exprs))
    assert len(used) >= 20, used  # the tokenizer really found the metrics
    assert metric_problems(exprs, exported) == []


def test_label_names_and_cache_results_match_the_instrumentation() -> None:
    exprs = all_exprs(load_alerts(), load_dashboard())
    known = suite_metric_labels()
    assert {"cache_requests_total", "stream_send_seconds_bucket", "upstream_circuit_open"} <= known.keys()
    assert label_problems(exprs, known) == []
    cache_source = (ROOT / "shared/src/suite_shared/cache.py").read_text()
    assert {"hit", "miss", "stale", "coalesced"} <= {
        s for line in cache_source.splitlines() if "CacheResult(" in line for s in re.findall(r'"([a-z_]+)"', line)
    }
    assert cache_result_problems(exprs, cache_source) == []
    # ... and they have teeth.
    bad = [
        ("a", 'sum by (provder) (rate(upstream_requests_total{outcom!="ok"}[5m]))'),
        ("b", 'rate(cache_requests_total{result="expired"}[5m])'),
    ]
    assert len(label_problems(bad, known)) == 2
    assert cache_result_problems(bad, cache_source) == ["b: cache result 'expired' is never counted"]


def test_broken_copies_are_rejected(exported: set[str]) -> None:
    alerts, anchors = load_alerts(), runbook_anchors(RUNBOOK.read_text())
    broken = copy.deepcopy(alerts)
    broken_rules = broken["groups"][0]["rules"]
    broken_rules.append(
        {
            **copy.deepcopy(broken_rules[0]),
            "alert": "Misspelt",
            "expr": 'sum(rate(http_request_totals{status=~"5.."}[5m])) > 0',
        }
    )
    no_for = {key: value for key, value in copy.deepcopy(broken_rules[0]).items() if key != "for"}
    broken_rules.append({**no_for, "alert": "NoFor"})
    bad_anchor = copy.deepcopy(broken_rules[0])
    bad_anchor["alert"] = "BadAnchor"
    bad_anchor["annotations"]["runbook_url"] = "ops/RUNBOOK.md#no-such-section"
    broken_rules.append(bad_anchor)

    problems = alert_problems(broken, anchors)
    assert any(p.startswith("NoFor:") and "`for`" in p for p in problems), problems
    assert any(p.startswith("BadAnchor:") and "anchor" in p for p in problems), problems
    metric_issues = metric_problems(all_exprs(broken, load_dashboard()), exported)
    assert metric_issues == ["alert Misspelt: metric 'http_request_totals' is not exported by the suite"]

    dashboard = load_dashboard()
    dashboard["panels"][1]["targets"][0]["expr"] = "rate(stream_conections[5m])"
    assert any("stream_conections" in p for p in metric_problems(all_exprs(alerts, dashboard), exported))
    # A histogram suffix on a metric that is not a histogram is caught too.
    assert metric_problems([("x", "redis_available_bucket")], exported) != []


def test_prometheus_config_scrapes_traefik_and_every_service_and_loads_the_rules() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text())
    assert "/etc/prometheus/alerts.yml" in config["rule_files"]
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    assert "traefik:8082" in targets
    for service, port in SERVICE_PORTS.items():
        assert f"{service}:{port}" in targets, service
    for job in config["scrape_configs"]:
        assert job.get("metrics_path", "/metrics") == "/metrics"
    names = [job["job_name"] for job in config["scrape_configs"]]
    assert len(names) == len(set(names))


def test_grafana_provisioning_points_at_prometheus_and_the_dashboard_folder() -> None:
    datasources = yaml.safe_load((OPS / "grafana/provisioning/datasources/prometheus.yml").read_text())
    source = datasources["datasources"][0]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    uids = {target["datasource"]["uid"] for _, target in _targets(load_dashboard())}
    assert uids == {source["uid"]}
    providers = yaml.safe_load((OPS / "grafana/provisioning/dashboards/suite.yml").read_text())["providers"]
    assert providers[0]["type"] == "file" and providers[0]["options"]["path"] == "/var/lib/grafana/dashboards"


def _targets(dashboard: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for panel in dashboard["panels"]:
        for target in panel.get("targets") or []:
            yield panel["title"], target
