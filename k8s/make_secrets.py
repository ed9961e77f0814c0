#!/usr/bin/env python3
"""Print the Secrets an overlay needs, with fresh random passwords, as a Kubernetes List to apply.

    python3 k8s/make_secrets.py --overlay dev | kubectl apply -f -
    python3 k8s/make_secrets.py --overlay prod --api-keys "$(cat client-keys.txt)" | kubectl apply -f -

Python 3.9+ standard library only (run it anywhere kubectl runs). What it writes (k8s/README.md, "Secrets"):

- `crypto-suite-redis`: `users.acl`, the Redis ACL both Redis roles load (the default user off; `suite`,
  the services' user; `health`, PING only, for the probes; in prod `replica` and `sentinel`, each limited to
  what replication or Sentinel needs), the services' `REDIS_URL` and `CACHE_REDIS_URL`, and in prod
  `replication.conf` (the replica's login to the primary) and `sentinel.conf` (the Sentinels' login).
- `crypto-suite-nats`: `users.conf` (the services' NATS user), the services' `NATS_URL`, and in prod
  `routes.conf` (the route user and the three routes, which must carry its credentials).
- `crypto-suite-api-keys` (only with --api-keys/--admin-api-keys): API_KEYS and ADMIN_API_KEYS, for the
  keyed tier (k8s/components/api-keys).

Passwords are 48 hex digits (safe in URLs and config files). Re-running makes new ones: apply them to a
running suite only together with `kubectl -n crypto-suite rollout restart deployment,statefulset`.
--redis-url / --cache-redis-url replace the services' URLs, for a managed Redis (then the in-cluster Redis
objects can be removed from the overlay; see the README).
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import sys
from typing import Any

NAMESPACE = "crypto-suite"
SENTINEL_MASTER = "suite"
SENTINELS = 3
NATS_SERVERS = 3

# Command rights of the services' Redis user: everything on every key and channel except the
# administrative and dangerous commands (CONFIG, SHUTDOWN, REPLICAOF, ACL, DEBUG, FLUSHALL, KEYS, ...).
# docker-compose.yml gives its user the same rights (tests/ops/test_compose.py checks they agree).
SUITE_RIGHTS = "~* &* +@all -@admin -@dangerous"
HEALTH_RIGHTS = "nopass -@all +ping"
# What a replica needs from its primary, and what Sentinel runs (the Redis documentation's lists).
REPLICA_RIGHTS = "-@all +psync +replconf +ping"
SENTINEL_RIGHTS = (
    "-@all &* +multi +slaveof +ping +exec +subscribe +config|rewrite +role +publish +info +client|setname "
    "+client|kill +script|kill"
)


def password() -> str:
    return secrets.token_hex(24)


def secret(name: str, namespace: str, data: dict[str, str]) -> dict[str, Any]:
    # `data` (base64), not `stringData`: `kubectl apply` then stores exactly these bytes.
    encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/part-of": "crypto-suite"}},
        "type": "Opaque",
        "data": encoded,
    }


def redis_secret(overlay: str, namespace: str, redis_url: str | None, cache_url: str | None) -> dict[str, Any]:
    suite = password()
    users = ["user default off", f"user health on {HEALTH_RIGHTS}", f"user suite on >{suite} {SUITE_RIGHTS}"]
    data: dict[str, str] = {}
    if overlay == "prod":
        replica, sentinel = password(), password()
        users += [f"user replica on >{replica} {REPLICA_RIGHTS}", f"user sentinel on >{sentinel} {SENTINEL_RIGHTS}"]
        data["replication.conf"] = f"masteruser replica\nmasterauth {replica}\n"
        data["sentinel.conf"] = (
            f"sentinel auth-user {SENTINEL_MASTER} sentinel\nsentinel auth-pass {SENTINEL_MASTER} {sentinel}\n"
        )
        hosts = ",".join(f"redis-sentinel-{i}.redis-sentinel-headless:26379" for i in range(SENTINELS))
        state = f"redis-sentinel://suite:{suite}@{hosts}/{SENTINEL_MASTER}/0"
    else:
        state = f"redis://suite:{suite}@redis:6379/0"
    data["users.acl"] = "\n".join(users) + "\n"
    data["REDIS_URL"] = redis_url or state
    data["CACHE_REDIS_URL"] = cache_url or f"redis://suite:{suite}@redis-cache:6379/0"
    return secret("crypto-suite-redis", namespace, data)


def nats_secret(overlay: str, namespace: str) -> dict[str, Any]:
    suite = password()
    data = {
        "users.conf": f'users: [\n  {{user: suite, password: "{suite}"}}\n]\n',
        "NATS_URL": f"nats://suite:{suite}@nats:4222",
    }
    if overlay == "prod":
        route = password()
        routes = "\n".join(f"  nats-route://route:{route}@nats-{i}.nats-headless:6222" for i in range(NATS_SERVERS))
        data["routes.conf"] = f'authorization {{\n  user: route\n  password: "{route}"\n}}\nroutes: [\n{routes}\n]\n'
    return secret("crypto-suite-nats", namespace, data)


def api_keys_secret(namespace: str, api_keys: str, admin_keys: str) -> dict[str, Any]:
    return secret("crypto-suite-api-keys", namespace, {"API_KEYS": api_keys, "ADMIN_API_KEYS": admin_keys})


def build(arguments: argparse.Namespace) -> dict[str, Any]:
    items = [
        redis_secret(arguments.overlay, arguments.namespace, arguments.redis_url, arguments.cache_redis_url),
        nats_secret(arguments.overlay, arguments.namespace),
    ]
    if arguments.api_keys.strip() or arguments.admin_api_keys.strip():
        items.append(api_keys_secret(arguments.namespace, arguments.api_keys.strip(), arguments.admin_api_keys.strip()))
    return {"apiVersion": "v1", "kind": "List", "items": items}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--overlay", choices=["dev", "prod"], required=True, help="the overlay the Secrets are for")
    parser.add_argument("--namespace", default=NAMESPACE)
    parser.add_argument("--api-keys", default="", help="comma-separated client API keys (enables the Secret)")
    parser.add_argument("--admin-api-keys", default="", help="comma-separated admin API keys")
    parser.add_argument("--redis-url", help="the services' state Redis URL instead (a managed Redis)")
    parser.add_argument("--cache-redis-url", help="the services' cache Redis URL instead (a managed Redis)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    json.dump(build(parse(sys.argv[1:] if argv is None else argv)), sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
