"""A small HTTP load client for the bench: keep-alive connections on loopback, a login cookie,
CSRF for POSTs, and the two shapes of load the targets are stated in — as many requests as the
server takes (throughput), and users who act, wait a little, and act again (latency under load)."""

import http.client
import random
import re
import statistics
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode

CSRF_IN_PAGE = re.compile(r'"X-CSRFToken": "([^"]+)"')


@dataclass
class Result:
    latencies_ms: list[float]
    seconds: float
    failures: int

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds

    @property
    def median(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))) - 1)]


class Browser:
    """One user's keep-alive connection with their cookies."""

    def __init__(self, host: str, cookies: dict[str, str] | None = None) -> None:
        name, port = host.split(":")
        self.conn = http.client.HTTPConnection(name, int(port), timeout=60)
        self.cookies = dict(cookies or {})
        self.csrf = ""

    def request(self, method: str, path: str, data: dict | None = None, headers: dict | None = None) -> tuple:
        body = urlencode(data or {}) if method == "POST" else None
        sent = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), **(headers or {})}
        if method == "POST":
            sent |= {"Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": self.csrf}
        self.conn.request(method, path, body=body, headers=sent)
        response = self.conn.getresponse()
        content = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, content

    def open(self, path: str) -> None:
        """Load a page, keeping the CSRF token it carries for later POSTs."""
        status, content = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
        found = CSRF_IN_PAGE.search(content.decode())
        self.csrf = found.group(1) if found else self.csrf

    def close(self) -> None:
        self.conn.close()


def _timed(browser: Browser, method: str, path: str, data, headers, expect: int) -> tuple[float, bool]:
    start = time.perf_counter()
    status, _ = browser.request(method, path, data, headers)
    return (time.perf_counter() - start) * 1000, status == expect


def throughput(host: str, path: str, *, cookies: dict, concurrency: int, total: int, expect: int = 200) -> Result:
    """`total` GETs of `path` from `concurrency` clients at once, as fast as the server answers."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    per_client = total // concurrency

    def client() -> None:
        browser = Browser(host, cookies)
        _timed(browser, "GET", path, None, None, expect)  # connect and warm up
        for _ in range(per_client):
            ms, ok = _timed(browser, "GET", path, None, None, expect)
            with lock:
                latencies.append(ms)
                failures[0] += not ok
        browser.close()

    return Result(latencies, _run([threading.Thread(target=client) for _ in range(concurrency)]), failures[0])


def users(host: str, actions: list, *, repeat: int, think: tuple[float, float], seed: int = 7) -> Result:
    """One thread per user: `actions[i]` is user i's (browser, method, path, data, headers,
    expected status). Each acts `repeat` times with a random think time between actions."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def user(index: int, action) -> None:
        rng = random.Random(seed + index)  # noqa: S311  (think times, not secrets)
        browser, method, path, data, headers, expect = action
        time.sleep(rng.uniform(0, think[1]))  # users do not all start at once
        for n in range(repeat):
            ms, ok = _timed(browser, method, path, data(n) if callable(data) else data, headers, expect)
            with lock:
                latencies.append(ms)
                failures[0] += not ok
            time.sleep(rng.uniform(*think))

    threads = [threading.Thread(target=user, args=(i, a)) for i, a in enumerate(actions)]
    return Result(latencies, _run(threads), failures[0])


def _run(threads: list[threading.Thread]) -> float:
    """Start every thread, wait for all of them; the seconds it took."""
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start
