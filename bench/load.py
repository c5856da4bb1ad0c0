"""Load benchmark (run by hand, not a test): linli under `linli serve` on PostgreSQL.

    python bench/load.py                       # 20 clients, 15 s a phase
    python bench/load.py --clients 20 --seconds 20 --workers 5 --json

It (re)creates the database ``--db`` (default ``wt_prod_load`` on
127.0.0.1:5432), migrates it, builds the test cast (two communities with
every role), starts ``linli serve`` with production settings and the
benchmark's URLconf (``bench/loadsite``: the site plus a bare view that
inserts one row and answers JSON), and drives it with ``--clients``
threads, one phase after another:

* ``bare_insert``: ``POST /bench/insert`` (the floor for a write on this stack);
* ``place``: residents placing orders, ``POST /api/v1/orders``;
* ``queue``: dispatchers listing their queue, ``GET /api/v1/orders?status=submitted``;
* ``accept``: members accepting orders dispatched to them,
  ``POST /api/v1/orders/{id}/accept`` (each order once).

It prints requests per second, median and p99 latency for each, the ratio of
each to the bare insert, the count of 5xx answers, and the orders that got a
201 but are not in the database (lost). The clients run on the same machine
as the server and the database: their CPU is the server's too.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
LINLI = str(Path(sys.executable).parent / "linli")

SETUP = """
import json
from linli.core.roles import Role
from linli.core.services import token_issue
from linli.orders import services
from linli.site.testing import make_cast, make_user
from linli.teams.models import Member, Skill
cast = make_cast()
repair = Skill.objects.get(code="home_repair")
residents = [token_issue(user=u) for u in (cast.a.resident, cast.b.resident)]
dispatchers = [token_issue(user=u) for u in (cast.a.dispatcher, cast.b.dispatcher)]
accept = []
# A member holds at most 3 open orders: many members, 3 orders each.
for key, comm in (("a", cast.a), ("b", cast.b)):
    for i in range({members}):
        user = make_user(f"load-{{key}}-{{i}}", Role.VOLUNTEER, comm.center)
        member = Member.objects.create(team=comm.team, user=user, source=Member.Source.VOLUNTEER,
            lat=comm.member.lat, lon=comm.member.lon, availability=comm.member.availability)
        member.skills.add(repair)
        token = token_issue(user=user)
        for _ in range(3):
            o = services.order_place(actor=comm.resident, item="home_repair")
            services.order_dispatch(actor=comm.dispatcher, order_id=o.pk, member_id=member.pk)
            accept.append((token, o.pk))
print(json.dumps({{"residents": residents, "dispatchers": dispatchers, "accept": accept}}))
"""


class Client:
    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(
        self, method: str, path: str, token: str = "", body: object = None
    ) -> tuple[int, bytes]:
        headers = {"Host": "127.0.0.1", "X-Forwarded-Proto": "https", "Connection": "keep-alive"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            return resp.status, resp.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            raise


def cpu_seconds(server_group: int) -> dict[str, float]:
    """CPU time so far of the server's processes, PostgreSQL's, and these clients."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {"server": 0.0, "postgres": 0.0}
    # Workers recycled during the phase: the master has reaped them.
    try:
        master = (Path("/proc") / str(server_group) / "stat").read_text()
        fields = master[master.rindex(")") + 2 :].split()
        out["server"] += (int(fields[13]) + int(fields[14])) / tick
    except OSError:
        pass
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        used = (int(fields[11]) + int(fields[12])) / tick
        if int(fields[2]) == server_group:
            out["server"] += used
        elif comm.startswith("postgres"):
            out["postgres"] += used
    out["clients"] = time.process_time()
    return out


def phase(
    name: str, port: int, clients: int, seconds: float, make_request, server_group: int = 0
) -> dict[str, object]:  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    created: list[int] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(k: int) -> None:
        client = Client(port)
        n = 0
        while time.monotonic() < deadline:
            request = make_request(k, n)
            if request is None:
                break
            n += 1
            t0 = time.perf_counter()
            try:
                status, raw = client.call(*request)
            except (OSError, http.client.HTTPException):
                status, raw = 599, b""
                client = Client(port)
            took = time.perf_counter() - t0
            with lock:
                latencies.append(took)
                statuses[status] = statuses.get(status, 0) + 1
                if name == "place" and status == 201:
                    created.append(json.loads(raw)["id"])

    cpu_before = cpu_seconds(server_group)
    start = time.monotonic()
    threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    cpu_after = cpu_seconds(server_group)
    latencies.sort()
    n = max(len(latencies), 1)
    cpu = {f"cpu_ms_{k}": round((cpu_after[k] - cpu_before[k]) * 1000 / n, 2) for k in cpu_before}
    return {
        "phase": name,
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "median_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1) if latencies else None,
        "statuses": statuses,
        "5xx": sum(c for s, c in statuses.items() if s >= 500),
        **cpu,
        "_created": created,
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", default="wt_prod_load")
    ap.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument(
        "--workers", type=int, default=0, help="gunicorn workers (default: linli serve's)"
    )
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--only", default="", help="run only these phases (comma-separated), e.g. to profile one"
    )
    args = ap.parse_args()

    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db}"')
        conn.execute(f'CREATE DATABASE "{args.db}"')
    db_url = f"{args.pg}/{args.db}"
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"linli-load-{os.getpid()}"
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "LINLI_PRODUCTION": "1",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(tmp / "static"),
        "LINLI_DATA_DIR": str(tmp),
        # The benchmark places orders far faster than any resident: no limit here.
        "LINLI_RATE_ORDER_PLACE": "100000000/h",
        "LINLI_REQUEST_LOG": "0",
        "DJANGO_SETTINGS_MODULE": "loadsite.settings",
        "PYTHONPATH": str(REPO / "bench"),
        "LINLI_BIND": f"127.0.0.1:{args.port}",
        # As in production: the rate limits count in Redis, shared by the workers.
        "REDIS_URL": args.redis,
        "LINLI_CACHE_PREFIX": f"linli-load-{os.getpid()}",
    }
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    subprocess.run([LINLI, "migrate", "--noinput", "-v0"], env=env, check=True)
    members = 150
    setup = subprocess.run(
        [LINLI, "shell", "-c", SETUP.format(members=members)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    if setup.returncode != 0:
        sys.exit(f"setting up the cast failed:\n{setup.stderr}")
    cast = json.loads(setup.stdout.strip().splitlines()[-1])

    tmp.mkdir(parents=True, exist_ok=True)
    log = (tmp / "serve.log").open("wb")
    server = subprocess.Popen(
        [LINLI, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        for _ in range(300):
            try:
                if Client(args.port).call("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        residents, dispatchers = cast["residents"], cast["dispatchers"]
        to_accept = list(cast["accept"])
        accept_lock = threading.Lock()

        def next_accept(k: int, n: int):  # type: ignore[no-untyped-def]
            with accept_lock:
                if not to_accept:
                    return None
                token, order_id = to_accept.pop()
            return ("POST", f"/api/v1/orders/{order_id}/accept", token, {})

        phases = [
            ("bare_insert", lambda k, n: ("POST", "/bench/insert", "", {})),
            ("place", lambda k, n: ("POST", "/api/v1/orders", residents[k % 2], {"item": "home_repair", "description": f"load {k}-{n}"})),
            ("queue", lambda k, n: ("GET", "/api/v1/orders?status=submitted&limit=20", dispatchers[k % 2], None)),
            ("accept", next_accept),
        ]  # fmt: skip
        # A short warm-up, so that no phase pays for the workers' first imports.
        phase("warmup", args.port, args.clients, 2, phases[0][1])
        group = os.getpgid(server.pid)
        only = set(filter(None, args.only.split(",")))
        results = [
            phase(n, args.port, args.clients, args.seconds, f, group)
            for n, f in phases
            if not only or n in only or n == "bare_insert"
        ]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)

    created = [i for r in results for i in r.pop("_created")]  # type: ignore[union-attr]
    with psycopg.connect(db_url) as conn:
        stored = {
            r[0] for r in conn.execute("SELECT id FROM orders_order WHERE id = ANY(%s)", (created,))
        }
    bare = float(results[0]["rps"])  # type: ignore[arg-type]
    for r in results:
        r["ratio_to_bare"] = round(float(r["rps"]) / bare, 2) if bare else None  # type: ignore[arg-type]
    summary = {
        "clients": args.clients,
        "seconds_per_phase": args.seconds,
        "workers": args.workers or "default",
        "cores": os.cpu_count(),
        "load_average_after": os.getloadavg(),
        "phases": results,
        "orders_acknowledged": len(created),
        "orders_lost": len(set(created) - stored),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{args.clients} clients, {args.seconds:g} s a phase, {os.cpu_count()} cores "
          f"(clients, server and PostgreSQL on one machine)")  # fmt: skip
    print(f"{'phase':<12} {'req/s':>8} {'median ms':>10} {'p99 ms':>8} {'5xx':>5} {'x bare':>7}"
          f"   CPU ms a request: {'server':>7} {'postgres':>8} {'clients':>7}")  # fmt: skip
    for r in results:
        print(
            f"{r['phase']:<12} {r['rps']:>8} {r['median_ms']:>10} {r['p99_ms']:>8} {r['5xx']:>5} {r['ratio_to_bare']:>7}"
            f"                     {r['cpu_ms_server']:>7} {r['cpu_ms_postgres']:>8} {r['cpu_ms_clients']:>7}"
        )
    print(f"orders acknowledged: {len(created)}, lost: {summary['orders_lost']}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
