"""Credentials are masked: registered values, credential-looking settings, and the log tail
a bring-up timeout puts into its exception."""
from __future__ import annotations

import pytest

from kfchaos import redact
from kfchaos.platform.waits import NotReady, Wait
from kfchaos.redact import MASK, Redactor


@pytest.fixture
def r() -> Redactor:
    return Redactor()


def test_registered_values_are_masked_longest_first(r):
    r.register("abcd1234")
    r.register("abcd1234efgh")
    assert r.redact("key=abcd1234efgh and abcd1234!") == f"key={MASK} and {MASK}!"


@pytest.mark.parametrize("short", [None, "", "abc", MASK])
def test_short_or_empty_values_are_not_registered(r, short):
    r.register(short)
    assert r.redact("abc a b c") == "abc a b c"


def test_env_values_are_registered(r, monkeypatch):
    monkeypatch.setenv("CHAOS_UNIT_SECRET", "from-the-env-42")
    r.register_env(["CHAOS_UNIT_SECRET", "CHAOS_UNIT_UNSET"])
    assert r.redact("pass from-the-env-42 on") == f"pass {MASK} on"


@pytest.mark.parametrize("text, expected", [
    ("MINIO_ROOT_PASSWORD=hunter22 next", f"MINIO_ROOT_PASSWORD={MASK} next"),
    ("s3.secret-key: abcdEF12", f"s3.secret-key: {MASK}"),
    ('{"password": "p w", "user": "u"}', f'{{"password": {MASK}, "user": "u"}}'),
    ("ssl.key.password = xyz,other=1", f"ssl.key.password = {MASK},other=1"),
    ("aws_secret_access_key=xyz", f"aws_secret_access_key={MASK}"),
    ("SASL_PASSWORD='p;w'", f"SASL_PASSWORD={MASK}"),
    ('sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="u" '
     'password="p";\nnext', f"sasl.jaas.config={MASK}\nnext"),
    ("http://user:pw@minio:9000/b", f"http://user:{MASK}@minio:9000/b"),
    ("key AKIAIOSFODNN7EXAMPLE", f"key {MASK}"),
    ("s wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY e", f"s {MASK} e"),
])
def test_credential_patterns(r, text, expected):
    assert r.redact(text) == expected


@pytest.mark.parametrize("text", [
    "ssl.key.password = null",
    "ssl.truststore.password = [hidden]",
    "commit 0123456789abcdef0123456789abcdef01234567",     # a hex digest is not an AWS secret
    "topic orders, partition 3, offset 1234",
    "",
])
def test_harmless_text_is_unchanged(r, text):
    assert r.redact(text) == text


def test_process_wide_functions():
    redact.register_secret("process-wide-secret-1")
    assert redact.redact("x process-wide-secret-1 y") == f"x {MASK} y"
    assert redact.redactor().redact("process-wide-secret-1") == MASK


@pytest.mark.parametrize("key, secret", [
    ("sasl.password", True), ("ssl.key.password", True), ("sasl.jaas.config", True),
    ("s3.secret-key", True), ("acks", False), ("bootstrap.servers", False)])
def test_secret_keys(key, secret):
    assert redact.is_secret_key(key) is secret


class StoppedNode:
    """A container that exited and logged its credentials."""
    container_name = "chaos-r1-minio"

    def status(self):
        return "exited"

    def state(self):
        return "exited (exit code 1)"

    def logs(self, tail=25):
        return "starting\nMINIO_ROOT_PASSWORD=s3cretvalue99\naccess key chaos0123abcd\nfailed\n"


def test_bring_up_error_has_no_secret():
    redact.register_secret("chaos0123abcd")
    wait = Wait("the MinIO health check", lambda: (False, "HTTP 503 for chaos0123abcd"), timeout=5,
                interval=0.01, node=StoppedNode())
    with pytest.raises(NotReady) as info:
        wait.until_ready()
    message = str(info.value)
    assert "s3cretvalue99" not in message and "chaos0123abcd" not in message
    assert "container stopped" in message and "failed" in message and MASK in message


def test_not_ready_masks_its_message():
    redact.register_secret("token-in-detail-77")
    assert "token-in-detail-77" not in str(NotReady("probe said token-in-detail-77"))


def test_wait_timeout_keeps_its_explicit_deadline_and_hint():
    calls = []
    wait = Wait("a thing", lambda: (calls.append(1) or False, "password=abc12345"), timeout=0.3, interval=0.05,
                hint="start the thing")
    with pytest.raises(NotReady) as info:
        wait.until_ready()
    message = str(info.value)
    assert message.startswith("a thing: not ready after 0s waiting for a thing")
    assert "abc12345" not in message and message.endswith("hint: start the thing") and len(calls) >= 3
