"""A real Milvus standalone server for tests and benchmarks: the `milvus` wheel's binary (2.3.5)
with embedded etcd and local storage in a folder of the caller's, on a free loopback port, with
authentication on (user root, password Milvus: its default) so tokens are checked. One runs
on a machine at a time: its embedded etcd always takes port 2380."""

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

TOKEN = "root:Milvus"


@contextlib.contextmanager
def running(folder: Path) -> Iterator[str]:
    """Start the server with its data under `folder` (about 10-45 s), yield its URI, stop it."""
    from milvus import MilvusServer

    with socket.socket() as sock:  # the embedded etcd's peer port, which the wheel cannot move
        if sock.connect_ex(("127.0.0.1", 2380)) == 0:
            raise RuntimeError("port 2380 is taken (another Milvus server on this machine?): "
                               "the milvus wheel's embedded etcd needs it")
    server = MilvusServer()
    server.set_base_dir(str(folder))
    server.config.set("authorization_enabled", True)
    server.listen_port = _free_port()
    server.start()
    try:
        yield f"http://127.0.0.1:{server.listen_port}"
    finally:
        server.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
