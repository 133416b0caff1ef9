"""ConvexClient against the local Convex test server over real HTTP."""

import io
import logging

import pytest

from deedbox.config.model import Identity
from deedbox.convex.client import ConvexClient
from deedbox.convex.snapshot import summarize
from deedbox.errors import ConvexAuthError, ConvexError, ConvexNotFound, EnvironmentProblem
from tests.convex.conftest import CANARY
from tests.support.snapshots import IdMaker, StoredFile, community_tables, snapshot_bytes

DATA = snapshot_bytes(community_tables(400, seed=5),
                      files=[StoredFile(IdMaker(2)(8), b"\x89PNG" + b"x" * 500)])


def test_export_request_poll_download(server, client):
    server.load_zip(DATA)
    status = client.export(include_storage=True, poll_s=0.01)
    assert status.state == "completed" and status.size > 0
    with client.download_export(status.start_ts) as fp:
        got = fp.read()
    assert len(got) == status.size
    assert summarize(io.BytesIO(got)) == summarize(io.BytesIO(DATA))
    assert server.paths().count("/api/export/request/zip") == 1


def test_export_without_storage_leaves_files_out(server, client):
    server.load_zip(DATA)
    status = client.export(include_storage=False, poll_s=0.01)
    with client.download_export(status.start_ts) as fp:
        assert summarize(io.BytesIO(fp.read())).storage_count == 0


def test_a_second_request_while_one_runs_is_refused(server, client):
    client.request_export(include_storage=False)
    with pytest.raises(ConvexError, match="ExportInProgress"):
        client.request_export(include_storage=False)


def test_retries_on_500_then_succeeds(server, client):
    server.load_zip(DATA)
    server.fail_next("/api/query", status=500, times=2)
    server.fail_next("/api/export/zip/", status=503, times=1)
    status = client.export(include_storage=True, poll_s=0.01)
    with client.download_export(status.start_ts) as fp:
        assert fp.read()[:2] == b"PK"
    assert server.paths().count("/api/export/zip/" + str(status.start_ts)) == 2


def test_gives_up_after_the_retries(server, client):
    server.fail_next("/api/query", status=500, times=10)
    with pytest.raises(ConvexError, match=r"^Convex 500 InternalServerError: injected failure \(/api/query\)$"):
        client.latest_export()
    assert server.paths().count("/api/query") == 4  # 1 + 3 retries


def test_mutations_are_not_retried_on_500(server, client):
    server.register_mutation("posts:add", lambda db, args, ident: db.insert("posts", args))
    server.fail_next("/api/mutation", status=500, times=1)
    with pytest.raises(ConvexError, match="500"):
        client.mutation("posts:add", {"title": "hi"})
    assert server.paths().count("/api/mutation") == 1


def test_deadline_on_a_slow_export(server, client):
    server.export_polls = 10_000
    with pytest.raises(ConvexError, match=r"did not complete within 0.2s \(last state: (requested|in_progress)\)"):
        client.export(include_storage=False, deadline_s=0.2, poll_s=0.02)


def test_failed_export(server, client):
    server.fail_exports = True
    with pytest.raises(ConvexError, match="^Convex export failed"):
        client.export(include_storage=False, poll_s=0.01)


def test_request_timeout_is_retried_then_reported(server):
    server.delay("/api/query", 0.5)
    c = ConvexClient(server.url, CANARY, timeout=0.1, retries=1, backoff=0.01)
    # a loaded machine may already time out the connect: either way it is a timeout, reported
    with pytest.raises(ConvexError, match="cannot reach Convex at .*/api/query: (Read|Connect)Timeout"):
        c.latest_export()


def test_a_cut_download_is_a_clear_error(server, client):
    server.load_zip(DATA)
    status = client.export(include_storage=True, poll_s=0.01)
    server.cut_stream_after(1000)
    with pytest.raises(ConvexError, match=rf"download of export {status.start_ts} was cut after 1000 of {status.size} bytes"), \
            client.download_export(status.start_ts) as fp:
            while fp.read(256):
                pass


@pytest.mark.parametrize("key, act_as_user, as_user, exc, message", [
    ("wrong-key", True, None, ConvexAuthError, "Convex 401 BadAdminKey"),
    (CANARY, False, Identity("https://auth", "u1"), ConvexAuthError, "Convex 403 OperationNotPermitted: .*actAsUser"),
])
def test_auth_errors_never_show_the_key(server, key, act_as_user, as_user, exc, message, caplog):
    caplog.set_level(logging.DEBUG)
    server.act_as_user = act_as_user
    c = ConvexClient(server.url, key, backoff=0.01)
    with pytest.raises(exc, match=message) as info:
        c.query("users:me", as_user=as_user)
    assert CANARY not in str(info.value) and "CANARY" not in caplog.text
    assert key not in str(info.value) and key not in repr(c)


def test_unknown_export_is_not_found(client):
    with pytest.raises(ConvexNotFound, match="Convex 404 ExportNotFound"), client.download_export(123):
        pass


def test_query_with_args_and_as_user(server, client):
    seen = {}

    def feed(db, args, identity):
        seen.update(args=args, identity=identity)
        return {"items": db.query("posts")[: int(args["limit"])], "big": 2**40}

    server.load_zip(DATA)
    server.register_query("posts:feed", feed)
    out = client.query("posts:feed", {"limit": 3}, as_user=Identity("https://auth.guild.example", "drill"))
    assert len(out["items"]) == 3 and out["big"] == 2**40
    assert seen["identity"]["subject"] == "drill" and seen["args"] == {"limit": 3.0}
    assert client.table_size("posts") > 0


def test_function_error_carries_its_message(server, client):
    def boom(db, args, identity):
        from tests.support.convex_server import FunctionError
        raise FunctionError(f"no such course {args['slug']}")
    server.register_query("courses:get", boom)
    with pytest.raises(ConvexError, match="^Convex query courses:get failed: no such course nope$"):
        client.query("courses:get", {"slug": "nope"})


def test_from_env_conventions():
    env = {"CONVEX_DEPLOY_KEY": "prod:happy-otter-123|abc"}
    assert ConvexClient.from_env(env=env).url == "https://happy-otter-123.convex.cloud"
    assert ConvexClient.from_env("http://127.0.0.1:3210", env=env).url == "http://127.0.0.1:3210"
    # a Convex Cloud key is only ever sent to its own deployment (or to this machine)
    with pytest.raises(EnvironmentProblem, match=r"^the key in CONVEX_DEPLOY_KEY belongs to deployment "
                       r"happy-otter-123, not https://typo\.example: refusing"):
        ConvexClient.from_env("https://typo.example", env=env)
    with pytest.raises(EnvironmentProblem, match="refusing"):
        ConvexClient.from_env("https://other-otter-9.convex.cloud", env=env)
    with pytest.raises(EnvironmentProblem, match="refusing"):
        ConvexClient.from_env("https://happy-otter-123.convex.cloud.evil.example", env=env)
    # EU deployments live at <name>.eu-west-1.convex.cloud (management-openapi.json deploymentUrl)
    eu = ConvexClient.from_env("https://happy-otter-123.eu-west-1.convex.cloud", env=env)
    assert eu.url == "https://happy-otter-123.eu-west-1.convex.cloud"
    sh = {"CONVEX_SELF_HOSTED_URL": "http://h:3210", "CONVEX_SELF_HOSTED_ADMIN_KEY": "k"}
    assert ConvexClient.from_env(env=sh).url == "http://h:3210"
    assert ConvexClient.from_env("http://a", env={"MY_KEY": "k"}, key_env="MY_KEY").url == "http://a"
    with pytest.raises(EnvironmentProblem, match="^environment variable MY_KEY is not set"):
        ConvexClient.from_env("http://a", env=env, key_env="MY_KEY")
    with pytest.raises(EnvironmentProblem, match="^environment variable CONVEX_SELF_HOSTED_ADMIN_KEY is not set"):
        ConvexClient.from_env(env={"CONVEX_SELF_HOSTED_URL": "http://h"})


def test_version_and_logs_never_carry_the_key(server, client, caplog):
    import requests
    caplog.set_level(logging.DEBUG)
    assert requests.get(server.url + "/version", timeout=5).text == "test-backend-1.0"
    server.fail_next("/api/query", status=502, times=2)
    assert client.latest_export() is None
    assert "retrying POST /api/query" in caplog.text
    assert "CANARY" not in caplog.text and CANARY not in repr(client.transport)


def test_export_goes_requested_in_progress_completed(server, client):
    server.export_polls = 3
    client.request_export(include_storage=False)
    assert [client.latest_export().state for _ in range(4)] == \
        ["requested", "in_progress", "completed", "completed"]


@pytest.mark.parametrize("url", ["not-a-url", "ftp://host", "https://", "happy-otter-123.convex.cloud"])
def test_a_url_that_is_not_http_is_a_usage_error(url):
    from deedbox.errors import UsageError

    with pytest.raises(UsageError, match="is not a Convex deployment URL"):
        ConvexClient(url, "k")
