"""A real SMTP server on loopback for the notification tests (aiosmtpd, installed by .ci/run
under target/aiosmtpd). STARTTLS is required with the certificate and key given, AUTH LOGIN
or PLAIN with the user and password given is required after it; each message received is
written to the output directory as NNNN.eml (the raw message) and NNNN.json (the envelope),
renamed into place only once complete. Prints "listening PORT" once it accepts connections.

usage: server.py CERT KEY OUTDIR USER PASSWORD
"""

import asyncio
import itertools
import json
import os
import socket
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Store:
    def __init__(self, outdir):
        self.outdir = outdir
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        base = os.path.join(self.outdir, f"{n:04}")
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "auth": session.authenticated,
        }
        for ext, data in ((".eml", envelope.original_content), (".json", json.dumps(meta).encode())):
            with open(base + ext + ".tmp", "wb") as f:
                f.write(data)
            os.rename(base + ext + ".tmp", base + ext)
        return "250 OK"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == user and auth_data.password == password
        return AuthResult(success=ok, handled=False)

    return check


async def main():
    cert, key, outdir, user, password = sys.argv[1:6]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = Store(outdir)
    check = authenticator(user.encode(), password.encode())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)

    def factory():
        return SMTP(
            handler,
            hostname="localhost",
            require_starttls=True,
            tls_context=context,
            authenticator=check,
            auth_required=True,
            auth_require_tls=True,
        )

    server = await asyncio.get_running_loop().create_server(factory, sock=sock)
    print(f"listening {sock.getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
