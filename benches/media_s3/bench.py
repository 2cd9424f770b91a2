"""Media on S3 vs on the local disk, side by side, on loopback: a real single-node Garage, one
reelvault with `[media] backend = "s3"` and one with the local disk, a loopback fake of
OpenAI's Videos API whose video is VIDEO_MIB MiB, and a plain S3 client. Prints one table.

Run it through `benches/media_s3/run` (which installs the plain client and bounds the time).
Standard library only.
"""

import argparse
import hashlib
import hmac
import http.client
import http.server
import json
import os
import random
import socket
import statistics
import subprocess
import threading
import time
import urllib.request
from datetime import datetime, timezone

VIDEO_MIB = int(os.environ.get("MEDIA_S3_VIDEO_MIB", "256"))
RANGES = int(os.environ.get("MEDIA_S3_RANGES", "200"))
FULL_RUNS = int(os.environ.get("MEDIA_S3_FULL_RUNS", "3"))
PREFIX = "bench/"
BUCKET = "reelvault-bench"
PIECE = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, what: str, proc: subprocess.Popen, log: str, within: float = 30.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited:\n{open(log).read()[-4000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {within} s")


class Processes:
    """Every process the run starts, stopped at the end (each in a session of its own)."""

    def __init__(self, pids_file: str):
        self.pids_file = pids_file
        self.procs = []

    def start(self, argv, log, env=None):
        out = open(log, "ab")
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        self.procs.append(proc)
        with open(self.pids_file, "a") as f:
            f.write(f"{proc.pid}\n")
        return proc

    def stop_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


# ---- the fake provider ----------------------------------------------------------------------


def video_file(path: str, mib: int):
    """An `ftyp` box as MP4 files start, then noise (what encoded video looks like)."""
    rng = random.Random(7)
    with open(path, "wb") as f:
        f.write(b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom")
        left = mib * PIECE - 24
        while left > 0:
            n = min(left, PIECE)
            f.write(rng.randbytes(n))
            left -= n


def serve_fake_videos(video: str) -> int:
    """OpenAI's Videos API: every job completes at once; its content is `video`."""
    size = os.path.getsize(video)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer_json(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            length = int(self.headers.get("content-length", "0"))
            self.rfile.read(length)
            self.answer_json(200, {"id": f"video_{time.monotonic_ns()}", "object": "video", "status": "completed", "progress": 100})

        def do_GET(self):
            path = self.path.split("?")[0]
            if path.endswith("/content"):
                if "variant=" in self.path:
                    self.send_response(404)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("content-type", "video/mp4")
                self.send_header("content-length", str(size))
                self.end_headers()
                with open(video, "rb") as f:
                    while chunk := f.read(PIECE):
                        self.wfile.write(chunk)
            else:
                self.answer_json(200, {"id": path.rsplit("/", 1)[-1], "object": "video", "status": "completed", "progress": 100})

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return port


# ---- Garage ---------------------------------------------------------------------------------


class Garage:
    def __init__(self, binary: str, root: str, procs: Processes):
        self.binary, self.root = binary, root
        os.makedirs(root, exist_ok=True)
        self.config = os.path.join(root, "garage.toml")
        rpc, self.s3_port, admin = free_port(), free_port(), free_port()
        with open(self.config, "w") as f:
            f.write(
                f'metadata_dir = "{root}/meta"\ndata_dir = "{root}/data"\ndb_engine = "sqlite"\nreplication_factor = 1\n'
                f'rpc_bind_addr = "127.0.0.1:{rpc}"\nrpc_public_addr = "127.0.0.1:{rpc}"\nrpc_secret = "{os.urandom(32).hex()}"\n\n'
                f'[s3_api]\ns3_region = "garage"\napi_bind_addr = "127.0.0.1:{self.s3_port}"\nroot_domain = ".s3.garage"\n\n'
                f'[admin]\napi_bind_addr = "127.0.0.1:{admin}"\nadmin_token = "{os.urandom(16).hex()}"\n'
            )
        log = os.path.join(root, "garage.log")
        env = dict(os.environ, RUST_LOG="garage=warn")
        self.proc = procs.start([binary, "-c", self.config, "server"], log, env)
        wait_port(self.s3_port, "garage", self.proc, log)
        self.endpoint = f"http://127.0.0.1:{self.s3_port}"
        node = self.cli_retried("node", "id", "-q").strip().split("@")[0]
        self.cli_retried("layout", "assign", "-z", "dc1", "-c", "10G", node)
        self.cli_retried("layout", "apply", "--version", "1")
        self.cli_retried("bucket", "create", BUCKET)
        self.key_id, self.secret = "GK" + os.urandom(12).hex(), os.urandom(32).hex()
        self.cli_retried("key", "import", "--yes", "-n", "bench", self.key_id, self.secret)
        self.cli_retried("bucket", "allow", "--read", "--write", "--owner", BUCKET, "--key", "bench")

    def cli_retried(self, *args) -> str:
        last = ""
        for _ in range(50):
            done = subprocess.run([self.binary, "-c", self.config, *args], capture_output=True, text=True, env=dict(os.environ, RUST_LOG="garage=warn"))
            if done.returncode == 0:
                return done.stdout
            last = done.stderr + done.stdout
            time.sleep(0.2)
        raise RuntimeError(f"garage {' '.join(args)}: {last}")

    def media_toml(self) -> str:
        return (
            f'[media]\nbackend = "s3"\nendpoint = "{self.endpoint}"\nregion = "garage"\nbucket = "{BUCKET}"\nprefix = "{PREFIX}"\n'
            f'access_key_id = "{self.key_id}"\nsecret_access_key = "{self.secret}"\npath_style = true\nallow_private_network = true\n'
        )

    def signed_get(self, key: str, port: int = 0) -> http.client.HTTPResponse:
        """A plain SigV4 GET of `key` (the standard library as the S3 client), to Garage or
        through a relay on `port` (the request names and signs Garage's own host either way)."""
        now = datetime.now(timezone.utc)
        amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        host = f"127.0.0.1:{self.s3_port}"
        path = f"/{BUCKET}/{key}"
        canonical = f"GET\n{path}\n\nhost:{host}\nx-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:{amz}\n\nhost;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD"
        scope = f"{day}/garage/s3/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{amz}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        k = hmac.new(f"AWS4{self.secret}".encode(), day.encode(), hashlib.sha256).digest()
        for part in ("garage", "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        auth = f"AWS4-HMAC-SHA256 Credential={self.key_id}/{scope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={signature}"
        conn = http.client.HTTPConnection("127.0.0.1", port or self.s3_port, timeout=120)
        conn.request("GET", path, headers={"host": host, "x-amz-date": amz, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "authorization": auth})
        return conn.getresponse()


# ---- reelvault ------------------------------------------------------------------------------


class Reelvault:
    def __init__(self, name: str, binary: str, root: str, fake_port: int, media: str, procs: Processes):
        self.name, self.binary = name, binary
        os.makedirs(root, exist_ok=True)
        self.data, self.config = os.path.join(root, "data"), os.path.join(root, "config.toml")
        with open(self.config, "w") as f:
            f.write(
                f'[[connection]]\nname = "videos"\nkind = "openai_videos"\nbase_url = "http://127.0.0.1:{fake_port}/v1"\n'
                'api_key = "sk-bench"\nallow_private_network = true\nmax_output_bytes = "2GiB"\n\n'
                "[api]\nrequests_per_minute = 100000000\nconcurrent_jobs = 1000000\n\n" + media
            )
        email = "bench@example.com"
        self.cli("user", "add", "--email", email, "--role", "admin", "--password-stdin", stdin="media-bench-password-1\n")
        self.cli("credits", "grant", "--email", email, "--amount", "1000000000")
        self.token = self.cli("token", "create", "--email", email).strip().splitlines()[0]
        self.port = free_port()
        log = os.path.join(root, "serve.log")
        env = {k: v for k, v in os.environ.items() if k != "RUST_LOG"}
        self.proc = procs.start([binary, "serve", "--data-dir", self.data, "--config", self.config, "--listen", f"127.0.0.1:{self.port}"], log, env)
        wait_port(self.port, f"reelvault ({name})", self.proc, log)

    def cli(self, *argv, stdin=None) -> str:
        done = subprocess.run([self.binary, *argv, "--data-dir", self.data, "--config", self.config], input=stdin, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"reelvault {' '.join(argv[:2])}: {done.stderr.strip()}")
        return done.stdout

    def api(self, method: str, path: str, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        text = response.read()
        conn.close()
        return response.status, json.loads(text or b"null")

    def store_video(self):
        """Submits a video generation and waits for its custody; (seconds, output)."""
        started = time.monotonic()
        status, created = self.api("POST", "/api/v1/generations", {"model": "sora-2", "prompt": "a long take", "params": {"duration": 4}})
        if status != 201:
            raise RuntimeError(f"{self.name}: submit answered {status}: {created}")
        gid = created["id"]
        deadline = started + 600
        while time.monotonic() < deadline:
            _, g = self.api("GET", f"/api/v1/generations/{gid}")
            if g["state"] == "succeeded":
                return time.monotonic() - started, g["outputs"][0]
            if g["state"] in ("failed", "cancelled"):
                raise RuntimeError(f"{self.name}: the generation ended {g['state']}: {g.get('reason')}")
            time.sleep(0.02)
        raise RuntimeError(f"{self.name}: custody took more than 600 s")


def timed_download(url: str, verify: bool) -> tuple:
    """(seconds, bytes, sha256 when `verify`) of one GET read to its end, as the plain GET
    reads (hashing is left out of the timed runs)."""
    parsed = urllib.request.urlparse(url)
    started = time.monotonic()
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=300)
    conn.request("GET", parsed.path + ("?" + parsed.query if parsed.query else ""))
    response = conn.getresponse()
    digest, total = hashlib.sha256(), 0
    while chunk := response.read(PIECE):
        if verify:
            digest.update(chunk)
        total += len(chunk)
    conn.close()
    return time.monotonic() - started, total, digest.hexdigest() if verify else None


def ranges(url: str, length: int, count: int) -> list:
    """Latencies (ms) of `count` 1 MiB Range requests at random offsets, on one connection."""
    parsed = urllib.request.urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
    target = parsed.path + ("?" + parsed.query if parsed.query else "")
    rng = random.Random(3)
    out = []
    for _ in range(count):
        start = rng.randrange(0, length - PIECE)
        t = time.monotonic()
        conn.request("GET", target, headers={"range": f"bytes={start}-{start + PIECE - 1}"})
        response = conn.getresponse()
        body = response.read()
        out.append((time.monotonic() - t) * 1000)
        if response.status != 206 or len(body) != PIECE:
            raise RuntimeError(f"range answered {response.status} with {len(body)} bytes")
    conn.close()
    return out


def plain_get(garage, key: str, port: int = 0) -> tuple:
    """(median seconds, bytes) of FULL_RUNS plain GETs of `key`, read to the end as reelvault's
    are; straight from Garage, or through the relay on `port`."""
    runs = []
    for _ in range(FULL_RUNS):
        started = time.monotonic()
        response = garage.signed_get(key, port)
        total = 0
        while chunk := response.read(PIECE):
            total += len(chunk)
        if response.status != 200:
            raise RuntimeError(f"plain GET answered {response.status}")
        runs.append(time.monotonic() - started)
    return statistics.median(runs), total


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rv-bin", required=True)
    ap.add_argument("--garage", required=True)
    ap.add_argument("--aws", default="")
    ap.add_argument("--relay", default="", help="the compiled relay.rs (the ceiling row), or none")
    ap.add_argument("--work", required=True)
    ap.add_argument("--pids-file", required=True)
    args = ap.parse_args()
    procs = Processes(args.pids_file)
    try:
        run(args, procs)
    finally:
        procs.stop_all()


def run(args, procs):
    video = os.path.join(args.work, "video.mp4")
    video_file(video, VIDEO_MIB)
    fake = serve_fake_videos(video)
    garage = Garage(args.garage, os.path.join(args.work, "garage"), procs)
    s3 = Reelvault("s3", args.rv_bin, os.path.join(args.work, "rv-s3"), fake, garage.media_toml(), procs)
    local = Reelvault("local", args.rv_bin, os.path.join(args.work, "rv-local"), fake, "", procs)
    print(f"garage on {garage.endpoint}; reelvault s3 on :{s3.port}, local on :{local.port}; a {VIDEO_MIB} MiB video", flush=True)

    results = {}
    for rv in (s3, local):
        seconds, output = rv.store_video()
        results[rv.name] = {"custody": seconds, "output": output}
        print(f"{rv.name}: custody {seconds:.2f} s", flush=True)
    expected = results["s3"]["output"]["sha256"]
    size = results["s3"]["output"]["bytes"]

    for rv in (s3, local):
        url = results[rv.name]["output"]["url"]
        _, total, digest = timed_download(url, verify=True)
        if total != size or digest != expected:
            raise RuntimeError(f"{rv.name}: the full GET answered {total} bytes, sha256 {digest}")
        runs = []
        for _ in range(FULL_RUNS):
            seconds, total, _ = timed_download(url, verify=False)
            if total != size:
                raise RuntimeError(f"{rv.name}: the full GET answered {total} bytes")
            runs.append(seconds)
        results[rv.name]["full"] = statistics.median(runs)
        results[rv.name]["ranges"] = ranges(url, size, RANGES)
        print(f"{rv.name}: full GET {statistics.median(runs):.2f} s; ranges done", flush=True)

    asset = results["s3"]["output"]["id"]
    key = f"{PREFIX}{asset[-2:].lower()}/{asset}.age"
    plain_py, object_size = plain_get(garage, key)
    relayed = None
    if args.relay:
        port = free_port()
        relay = procs.start([args.relay, str(port), str(garage.s3_port)], os.path.join(args.work, "relay.log"))
        wait_port(port, "relay", relay, os.path.join(args.work, "relay.log"))
        relayed, _ = plain_get(garage, key, port)
    aws = None
    if args.aws:
        env = dict(os.environ, AWS_ACCESS_KEY_ID=garage.key_id, AWS_SECRET_ACCESS_KEY=garage.secret, AWS_DEFAULT_REGION="garage",
                   AWS_EC2_METADATA_DISABLED="true")
        runs = []
        for _ in range(FULL_RUNS):
            started = time.monotonic()
            done = subprocess.run([args.aws, "s3", "cp", f"s3://{BUCKET}/{key}", "-", "--endpoint-url", garage.endpoint, "--no-progress"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, timeout=300)
            if done.returncode != 0:
                raise RuntimeError(f"aws s3 cp: {done.stderr.decode()[-2000:]}")
            runs.append(time.monotonic() - started)
        aws = statistics.median(runs)

    mib = size / PIECE
    best_plain = min(x for x in (plain_py, aws) if x is not None)
    rate = lambda seconds: f"{mib / seconds:.0f} MiB/s"
    rows = [
        ("full GET through reelvault, S3 backend", f"{results['s3']['full']:.2f} s", rate(results["s3"]["full"]),
         f"{best_plain / results['s3']['full']:.2f} of the plain download (goal >= 0.8)"),
        ("full GET through reelvault, local backend", f"{results['local']['full']:.2f} s", rate(results["local"]["full"]), ""),
        ("plain S3 GET of the same object (stdlib SigV4, one request)", f"{plain_py:.2f} s", f"{object_size / PIECE / plain_py:.0f} MiB/s", ""),
    ]
    if aws is not None:
        rows.append(("plain S3 download: aws s3 cp (awscli)", f"{aws:.2f} s", f"{object_size / PIECE / aws:.0f} MiB/s", "incl. its start-up"))
    if relayed is not None:
        rows.append(("plain S3 GET through a bare TCP relay (relay.rs)", f"{relayed:.2f} s", f"{object_size / PIECE / relayed:.0f} MiB/s",
                     f"{best_plain / relayed:.2f} of the plain download: the ceiling of a gateway on this machine"))
    for name in ("s3", "local"):
        r = results[name]["ranges"]
        goal = "goal p99 <= 20 ms" if name == "s3" else ""
        rows.append((f"1 MiB Range at random offsets, {name} backend ({len(r)})", f"p50 {pct(r, 50):.1f} ms", f"p99 {pct(r, 99):.1f} ms", goal))
    for name in ("s3", "local"):
        c = results[name]["custody"]
        rows.append((f"custody of a {VIDEO_MIB} MiB output, {name} backend", f"{c:.2f} s", rate(c), "submit to succeeded, fetch from a loopback fake"))
    width = max(len(r[0]) for r in rows)
    print()
    print(f"| {'figure'.ljust(width)} | time | rate / p99 | note |")
    print(f"|{'-' * (width + 2)}|---|---|---|")
    for r in rows:
        print(f"| {r[0].ljust(width)} | {r[1]} | {r[2]} | {r[3]} |")


if __name__ == "__main__":
    main()
