"""The Bookshop monolith as a user sees it over HTTP, and labkit.localproc, which runs it in lesson 01."""

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests
from support import exited

from labkit import config, localproc
from labkit.errors import LabkitError

MONOLITH = [sys.executable, "-m", "services.monolith", "--port", "{port}"]
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
# Serves GET / with 200: a service with no code of ours in it.
STATIC_SERVER = [sys.executable, "-m", "http.server", "{port}", "--bind", "127.0.0.1"]


def start_monolith(name, db_file, **env):
    return localproc.start(name, MONOLITH, env={"MONOLITH_DB": str(db_file), **env})


@pytest.fixture
def shop(tmp_path):
    process = start_monolith("test-monolith", tmp_path / "bookshop.db")
    yield process
    process.stop()


@pytest.fixture
def customer(shop):
    return requests.post(shop.url + "/users", json={"name": "Grace", "email": "grace@example.com"}).json()


def stock(shop, book_id):
    return requests.get(f"{shop.url}/books/{book_id}").json()["stock"]


def checkout(shop, user_id, *items):
    body = {"user_id": user_id, "items": [{"book_id": book_id, "qty": qty} for book_id, qty in items]}
    return requests.post(shop.url + "/orders", json=body, timeout=10)


def orders_of(shop, user_id):
    return requests.get(f"{shop.url}/users/{user_id}/orders").json()


# The Bookshop


def test_health_reports_version_and_every_module(shop):
    health = requests.get(shop.url + "/health")
    assert health.status_code == 200
    assert health.json()["version"] == (config.COURSE_ROOT / "services/monolith/VERSION").read_text().strip()
    assert health.json()["modules"] == ["catalog", "users", "orders", "payments", "notifications"]


def test_catalog_lists_seeded_books_and_searches_by_author(shop):
    books = requests.get(shop.url + "/books").json()
    assert len(books) == 12
    by_fowler = requests.get(shop.url + "/books", params={"author": "fowler"}).json()
    assert [book["author"] for book in by_fowler] == ["Martin Fowler", "Martin Fowler"]
    assert requests.get(shop.url + "/books/3").json()["title"] == "Designing Data-Intensive Applications"


def test_checkout_reduces_stock_charges_and_notifies(shop, customer):
    before = stock(shop, 2), stock(shop, 7)
    answer = checkout(shop, customer["id"], (2, 2), (7, 1))
    assert answer.status_code == 201
    order = answer.json()
    assert (stock(shop, 2), stock(shop, 7)) == (before[0] - 2, before[1] - 1)
    assert order["total_cents"] == 2 * 3999 + 4499
    assert order["payment"] == {"id": 1, "amount_cents": order["total_cents"], "status": "charged"}
    assert len(order["notifications"]) == 1 and "Grace" in order["notifications"][0]["message"]
    assert requests.get(f"{shop.url}/orders/{order['id']}").json() == order


def test_out_of_stock_is_409_and_takes_nothing(shop, customer):
    answer = checkout(shop, customer["id"], (1, 1), (12, 2))  # book 12 has one copy
    assert answer.status_code == 409
    assert "out of stock" in answer.json()["error"]
    assert (stock(shop, 1), stock(shop, 12)) == (12, 1)  # book 1's reservation was rolled back
    assert orders_of(shop, customer["id"]) == []


def test_unknown_book_is_404(shop, customer):
    assert requests.get(shop.url + "/books/99").status_code == 404
    answer = checkout(shop, customer["id"], (1, 1), (99, 1))
    assert answer.status_code == 404
    assert answer.json() == {"error": "book 99 not found"}
    assert stock(shop, 1) == 12


def test_unknown_user_order_and_route_are_404(shop):
    assert checkout(shop, 42, (1, 1)).status_code == 404
    assert requests.get(shop.url + "/orders/42").json() == {"error": "order 42 not found"}
    assert requests.get(shop.url + "/nowhere").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        {"items": [{"book_id": 1, "qty": 1}]},
        {"user_id": 1, "items": []},
        {"user_id": 1, "items": [{"book_id": "1", "qty": 1}]},
        {"user_id": 1, "items": [{"book_id": 1, "qty": 0}]},
    ],
)
def test_bad_checkout_body_is_400(shop, customer, body):
    answer = requests.post(shop.url + "/orders", **({"data": body} if isinstance(body, str) else {"json": body}))
    assert answer.status_code == 400
    assert answer.json()["error"]


def test_registering_an_email_twice_is_409(shop, customer):
    again = requests.post(shop.url + "/users", json={"name": "Grace H", "email": "GRACE@example.com"})
    assert again.status_code == 409
    assert requests.post(shop.url + "/users", json={"name": "No Email"}).status_code == 400


def test_slow_notifications_slow_checkout_and_stall_catalog_reads(tmp_path):
    # One worker makes the stall certain: the catalog read must wait for the slow checkout's worker.
    shop = start_monolith("test-monolith", tmp_path / "bookshop.db", MONOLITH_WORKERS="1")
    try:
        user = requests.post(shop.url + "/users", json={"name": "Lin", "email": "lin@example.com"}).json()
        assert requests.post(shop.url + "/admin/faults", json={"notifications": {"delay_ms": 400}}).ok
        slow_checkout = threading.Thread(target=checkout, args=(shop, user["id"], (1, 1)))
        started = time.monotonic()
        slow_checkout.start()
        time.sleep(0.1)  # the checkout now holds the only worker
        assert requests.get(shop.url + "/books").status_code == 200
        catalog_read_done = time.monotonic() - started
        slow_checkout.join()
        assert catalog_read_done >= 0.35
        assert requests.delete(shop.url + "/admin/faults").json() == {"notifications": {"delay_ms": 0, "fail": False}}
        quick = time.monotonic()
        assert checkout(shop, user["id"], (1, 1)).status_code == 201
        assert time.monotonic() - quick < 0.3
    finally:
        shop.stop()


def test_failing_notifications_give_500_after_order_and_charge_are_saved(shop, customer):
    assert requests.post(shop.url + "/admin/faults", json={"notifications": {"fail": True}}).ok
    answer = checkout(shop, customer["id"], (3, 1))
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal server error"}
    [order] = orders_of(shop, customer["id"])
    assert order["payment"]["status"] == "charged"
    assert order["notifications"] == []
    assert stock(shop, 3) == 9
    assert "NotificationError: mail provider unavailable" in shop.log_tail(40)


def test_fault_switch_rejects_unknown_modules_and_values(shop):
    assert requests.post(shop.url + "/admin/faults", json={"catalog": {"fail": True}}).status_code == 400
    assert requests.post(shop.url + "/admin/faults", json={"notifications": {"delay_ms": -1}}).status_code == 400
    assert requests.get(shop.url + "/admin/faults").json() == {"notifications": {"delay_ms": 0, "fail": False}}


def test_two_processes_share_one_database(tmp_path):
    db_file = tmp_path / "bookshop.db"
    first = start_monolith("test-monolith", db_file)
    second = start_monolith("test-monolith-2", db_file, MONOLITH_VERSION="9.9.9")
    try:
        assert first.pid != second.pid
        assert requests.get(second.url + "/health").json()["version"] == "9.9.9"
        user = requests.post(first.url + "/users", json={"name": "Ken", "email": "ken@example.com"}).json()
        assert checkout(second, user["id"], (5, 1)).status_code == 201
        assert stock(first, 5) == 3
        assert len(orders_of(first, user["id"])) == 1
    finally:
        second.stop()
        first.stop()


def test_a_restart_keeps_the_data_and_fresh_db_reseeds(tmp_path):
    db_file = tmp_path / "bookshop.db"
    try:
        shop = start_monolith("test-monolith", db_file)
        user = requests.post(shop.url + "/users", json={"name": "Ann", "email": "ann@example.com"}).json()
        checkout(shop, user["id"], (4, 1))
        shop = localproc.start("test-monolith", MONOLITH, port=shop.port, env={"MONOLITH_DB": str(db_file)})
        assert stock(shop, 4) == 4
        shop = localproc.start("test-monolith", MONOLITH + ["--fresh-db"], env={"MONOLITH_DB": str(db_file)})
        assert stock(shop, 4) == 5
        assert requests.get(f"{shop.url}/users/{user['id']}").status_code == 404
    finally:
        localproc.stop("test-monolith")


# labkit.localproc


def test_start_waits_for_health_and_stop_ends_the_process():
    server = localproc.start("test-static", STATIC_SERVER, health_path="/")
    record = config.state_dir() / "processes" / "test-static.json"
    assert server.running() and record.exists()
    assert requests.get(server.url + "/").status_code == 200
    assert server.rss_mb() > 1
    assert localproc.find("test-static") == server
    server.stop()
    assert exited(server.pid)
    assert not record.exists()
    assert localproc.find("test-static") is None
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/", timeout=1)


def test_a_command_that_crashes_at_start_gives_its_log_tail():
    crash = [sys.executable, "-c", "import sys; print('config error: DATABASE_URL is not set'); sys.exit(3)"]
    with pytest.raises(localproc.LocalProcessError) as raised:
        localproc.start("test-crash", crash)
    message = str(raised.value)
    assert "test-crash exited with code 3" in message
    assert "config error: DATABASE_URL is not set" in message
    assert isinstance(raised.value, LabkitError)  # shown without a traceback in notebooks and the CLI
    assert localproc.find("test-crash") is None


def test_a_process_that_never_gets_healthy_is_stopped():
    with pytest.raises(localproc.LocalProcessError, match="did not answer .* within 1 s, so it was stopped"):
        localproc.start("test-silent", SLEEPER, timeout=1)
    assert localproc.find("test-silent") is None


def test_a_missing_command_and_a_taken_port_are_clear_errors():
    with pytest.raises(localproc.LocalProcessError, match="cannot start test-missing: /no/such/program"):
        localproc.start("test-missing", ["/no/such/program"])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(localproc.LocalProcessError, match=f"port {port} on 127.0.0.1 is in use"):
            localproc.start("test-taken", STATIC_SERVER, port=port, health_path="/")


def test_a_leftover_from_an_earlier_run_is_stopped_by_the_next_start():
    # An earlier "kernel" starts the service and exits without stopping it, as a crashed notebook does.
    earlier_run = subprocess.run(
        [
            sys.executable,
            "-c",
            "from labkit import localproc; "
            f"p = localproc.start('test-leftover', {STATIC_SERVER!r}, health_path='/'); print(p.pid)",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ,
        cwd=config.COURSE_ROOT,
        timeout=30,
    )
    leftover_pid = int(earlier_run.stdout)
    assert not exited(leftover_pid)
    again = localproc.start("test-leftover", STATIC_SERVER, health_path="/")
    try:
        assert exited(leftover_pid)
        assert again.pid != leftover_pid and again.running()
    finally:
        again.stop()


def test_a_pidfile_whose_pid_is_now_another_process_kills_nothing():
    bystander = subprocess.Popen(SLEEPER)
    try:
        record = config.state_dir() / "processes" / "test-stale.json"
        record.parent.mkdir(parents=True, exist_ok=True)
        # Same pid, different start time: the recorded process is gone and the pid was reused.
        record.write_text(json.dumps({"pid": bystander.pid, "port": 1, "start_ticks": "1"}))
        assert localproc.find("test-stale") is None
        assert localproc.stop("test-stale") is False
        assert bystander.poll() is None
        assert not record.exists()
    finally:
        bystander.kill()
        bystander.wait()


# The strangler fig (lab 02): catalog reads served by the extracted catalog service


@pytest.fixture
def catalog_service():
    """A stand-in for the catalog API: string ids, as DynamoDB keeps them."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    books = {"1": {"id": "1", "title": "From the service", "author": "A. Service", "price_cents": 100, "stock": 5}}

    class CatalogHandler(BaseHTTPRequestHandler):
        def do_GET(self):
            path = self.path.split("?")[0]
            found = list(books.values()) if path == "/books" else books.get(path.rsplit("/", 1)[-1])
            body = json.dumps(found if found is not None else {"message": "not found"}).encode()
            self.send_response(200 if found is not None else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), CatalogHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_catalog_reads_come_from_the_catalog_service_when_configured(tmp_path, catalog_service):
    shop = start_monolith("test-strangler", tmp_path / "bookshop.db", CATALOG_SERVICE_URL=catalog_service)
    try:
        assert requests.get(shop.url + "/health").json()["catalog_source"] == catalog_service
        assert [b["title"] for b in requests.get(shop.url + "/books").json()] == ["From the service"]
        assert requests.get(shop.url + "/books/1").json()["id"] == 1
        assert requests.get(shop.url + "/books/7").status_code == 404
    finally:
        shop.stop()


def test_an_unreachable_catalog_service_is_a_502_with_a_reason(tmp_path):
    shop = start_monolith(
        "test-strangler-down",
        tmp_path / "bookshop.db",
        CATALOG_SERVICE_URL=f"http://127.0.0.1:{localproc.proc.free_port()}",
    )
    try:
        answer = requests.get(shop.url + "/books")
        assert answer.status_code == 502
        assert "the catalog service did not answer" in answer.json()["error"]
    finally:
        shop.stop()
