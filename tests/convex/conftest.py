import pytest

from tests.support.convex_server import ConvexTestServer

CANARY = "prod:canary-otter-1|CANARY-SECRET-b5f1e0c2d3"


@pytest.fixture
def server():
    with ConvexTestServer(admin_key=CANARY, export_polls=2) as srv:
        yield srv


@pytest.fixture
def client(server):
    from deedbox.convex.client import ConvexClient
    return ConvexClient(server.url, CANARY, timeout=5, retries=3, backoff=0.01)
