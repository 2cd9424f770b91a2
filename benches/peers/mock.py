"""A loopback mock of the OpenAI Images and Videos APIs, answering at once.

POST /v1/images/generations   -> 200 {"created", "data": [{"b64_json": <a 12 KB PNG>}], ...}
POST /v1/videos               -> 200 a Video object, status "queued" (JSON, multipart or form bodies)
GET  /v1/videos/{id}          -> "in_progress" until PEERS_READY_SECS (1.0) after creation, then "completed"
GET  /v1/videos/{id}/content  -> 5 MiB of MP4-looking bytes (an ftyp box, then noise)
DELETE /v1/videos/{id}        -> {"id", "object": "video.deleted", "deleted": true}

Every answer is prepared once at start; the server keeps counts that GET /_mock/stats returns.
Usage: mock.py PORT   (binds 127.0.0.1 only; prints "ready" once listening)
"""

import asyncio
import base64
import json
import os
import random
import struct
import sys
import time
import zlib

from aiohttp import web

READY_SECS = float(os.environ.get("PEERS_READY_SECS", "1.0"))
VIDEO_BYTES = int(os.environ.get("PEERS_VIDEO_MIB", "5")) * 1024 * 1024
PNG_BYTES = 12 * 1024


def noise_png(size: int, seed: int = 7) -> bytes:
    """A valid RGB PNG of incompressible pixels, about `size` bytes (64 pixels wide)."""
    rng = random.Random(seed)
    width = 64
    height = max(1, size // (width * 3))
    raw = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b"")


def mp4_like(size: int, seed: int = 11) -> bytes:
    """An `ftyp` box as MP4 files start, then noise (what encoded video looks like)."""
    ftyp = struct.pack(">I", 24) + b"ftypmp42" + struct.pack(">I", 0) + b"mp42isom"
    return ftyp + random.Random(seed).randbytes(size - len(ftyp))


PNG = noise_png(PNG_BYTES)
IMAGE_ANSWER = json.dumps(
    {
        "created": 1,
        "data": [{"b64_json": base64.b64encode(PNG).decode()}],
        "output_format": "png",
        "usage": {"input_tokens": 10, "output_tokens": 1056, "total_tokens": 1066},
    }
).encode()
VIDEO = mp4_like(VIDEO_BYTES)

jobs: dict[str, dict] = {}
stats = {"images": 0, "video_creates": 0, "video_polls": 0, "video_contents": 0, "not_found": 0}


def video_object(job_id: str, job: dict) -> dict:
    age = time.monotonic() - job["created"]
    done = age >= READY_SECS
    return {
        "id": job_id,
        "object": "video",
        "model": job["model"],
        "status": "completed" if done else ("queued" if age < 0.05 else "in_progress"),
        "progress": 100 if done else int(100 * age / READY_SECS),
        "created_at": job["created_at"],
        "completed_at": job["created_at"] + int(READY_SECS) if done else None,
        "expires_at": None,
        "seconds": job["seconds"],
        "size": job["size"],
        "prompt": job["prompt"],
        "remix_of_video_id": None,
        "error": None,
    }


async def images(request: web.Request) -> web.Response:
    await request.read()
    stats["images"] += 1
    return web.Response(body=IMAGE_ANSWER, content_type="application/json")


async def request_fields(request: web.Request) -> dict:
    if request.content_type == "application/json":
        return await request.json()
    fields = {}
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            data = await part.read()
            if part.filename is None:
                fields[part.name] = data.decode(errors="replace")
        return fields
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def create_video(request: web.Request) -> web.Response:
    fields = await request_fields(request)
    job_id = "video_%016x" % random.getrandbits(64)
    jobs[job_id] = {
        "created": time.monotonic(),
        "created_at": int(time.time()),
        "model": str(fields.get("model", "sora-2")),
        "seconds": str(fields.get("seconds", "4")),
        "size": str(fields.get("size", "720x1280")),
        "prompt": str(fields.get("prompt", "")),
    }
    stats["video_creates"] += 1
    return web.json_response(video_object(job_id, jobs[job_id]))


def job_or_404(request: web.Request):
    job_id = request.match_info["id"]
    job = jobs.get(job_id)
    if job is None:
        stats["not_found"] += 1
        raise web.HTTPNotFound(
            text=json.dumps({"error": {"message": "no such video", "type": "invalid_request_error", "code": "not_found"}}),
            content_type="application/json",
        )
    return job_id, job


async def get_video(request: web.Request) -> web.Response:
    job_id, job = job_or_404(request)
    stats["video_polls"] += 1
    return web.json_response(video_object(job_id, job))


async def video_content(request: web.Request) -> web.Response:
    job_id, job = job_or_404(request)
    if time.monotonic() - job["created"] < READY_SECS:
        return web.json_response({"error": {"message": "video is not ready", "type": "invalid_request_error"}}, status=400)
    stats["video_contents"] += 1
    return web.Response(body=VIDEO, content_type="video/mp4")


async def delete_video(request: web.Request) -> web.Response:
    job_id, _ = job_or_404(request)
    jobs.pop(job_id, None)
    return web.json_response({"id": job_id, "object": "video.deleted", "deleted": True})


async def get_stats(_: web.Request) -> web.Response:
    return web.json_response(stats)


async def main(port: int) -> None:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.add_routes(
        [
            web.post("/v1/images/generations", images),
            web.post("/v1/videos", create_video),
            web.get("/v1/videos/{id}", get_video),
            web.get("/v1/videos/{id}/content", video_content),
            web.delete("/v1/videos/{id}", delete_video),
            web.get("/_mock/stats", get_stats),
        ]
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(int(sys.argv[1])))
