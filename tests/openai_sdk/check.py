"""Drives reelvault's OpenAI-compatible API with the official `openai` package, the way a
script written for OpenAI would, and writes what it got for the Rust test to check
(tests/it/openai_compat.rs runs it). Environment: RV_BASE_URL (…/v1), RV_TOKEN (an API
token), RV_OUT_DIR (where the files and result.json go).
"""

import base64
import hashlib
import json
import os
import struct
import sys
import time
import urllib.request
import warnings
import zlib

from openai import OpenAI

# the SDK marks the Videos API deprecated (OpenAI's Sora shuts down); reelvault keeps it
warnings.simplefilter("ignore", DeprecationWarning)

OUT = os.environ["RV_OUT_DIR"]
client = OpenAI(base_url=os.environ["RV_BASE_URL"], api_key=os.environ["RV_TOKEN"], max_retries=0, timeout=120)


def png(width, height, rgb):
    """A small opaque PNG, made with the standard library."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b"")


def save(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    return {"file": name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def wait(video):
    deadline = time.time() + 90
    while video.status not in ("completed", "failed"):
        if time.time() > deadline:
            sys.exit(f"video {video.id} did not finish: {video.status}")
        time.sleep(0.2)
        video = client.videos.retrieve(video.id)
    return video


result = {}

# images.generate, base64 (the default) and links
r = client.images.generate(model="demo-image", prompt="a lighthouse at dusk", n=2, size="1024x1024")
result["generate_b64"] = {
    "created": r.created,
    "images": [save(f"generate-{i}.png", base64.b64decode(d.b64_json)) for i, d in enumerate(r.data)],
}
r = client.images.generate(model="demo-image", prompt="a red kite over hills", size="1536x1024", response_format="url")
with urllib.request.urlopen(r.data[0].url) as response:
    linked = response.read()
result["generate_url"] = {"url": r.data[0].url, "images": [save("generate-url.png", linked)]}

# images.edit with a PNG made here
source = png(48, 32, (200, 40, 40))
r = client.images.edit(model="demo-image", image=("source.png", source, "image/png"), prompt="the same, in blue")
result["edit"] = {"images": [save("edit.png", base64.b64decode(r.data[0].b64_json))]}

# videos: text-to-video, then with an input reference as the first frame
videos = []
for name, extra in (("plain", {}), ("reference", {"input_reference": ("first.png", png(64, 36, (20, 90, 200)), "image/png")})):
    created = client.videos.create(model="demo-video", prompt=f"waves on a beach ({name})", seconds="2", size="1280x720", **extra)
    assert created.object == "video" and created.status in ("queued", "in_progress", "completed"), created
    done = wait(created)
    assert done.status == "completed", done
    content = client.videos.download_content(done.id, variant="video")
    videos.append(
        {
            "name": name,
            "id": done.id,
            "created_status": created.status,
            "status": done.status,
            "progress": done.progress,
            "seconds": done.seconds,
            "size": done.size,
            "model": done.model,
            "completed_at": done.completed_at,
            "video": save(f"video-{name}.mp4", content.content),
        }
    )
result["videos"] = videos

listed = client.videos.list(limit=10)
result["listed"] = [v.id for v in listed.data]

with open(os.path.join(OUT, "result.json"), "w") as f:
    json.dump(result, f, indent=2)
print("ok")
