"""The profile's `job:` section (a team's own Flink job): a good one loads with its releases,
input format and output contract; each mistake is one ProfileError line naming the key."""
from __future__ import annotations

import copy
import json

import pytest
import yaml

from kfchaos import profiles
from kfchaos.flink.userjob import resolve_jar

BASE = {
    "name": "team", "platform": {"kind": "kafka", "zones": ["a", "b", "c"]},
    "job": {"jar": "jobs/enrich.jar", "entry_class": "org.example.Enrich",
            "args": ["--brokers", "{bootstrap}", "--in", "{input_topic}", "--out", "{output_topic}"],
            "input": {"id_field": "orderId", "key_field": "customer", "template": {"amount": 42}},
            "output": {"contract": "exactly-once-by-id", "id_field": "orderId"}},
}


def write(tmp_path, data) -> str:
    (tmp_path / "jobs").mkdir(exist_ok=True)
    (tmp_path / "jobs" / "enrich.jar").write_bytes(b"PK\x03\x04")
    path = tmp_path / "team.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def job_with(**changes):
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            data["job"].pop(key, None)
        else:
            data["job"][key] = value
    return data


def test_a_good_job_section_loads(tmp_path):
    p = profiles.load(write(tmp_path, BASE))
    job = p.job
    assert job.jar == tmp_path / "jobs" / "enrich.jar" and not job.has_next
    value = json.loads(job.encode("producer-0-7", "k3", 7, "producer-0"))
    assert value == {"amount": 42, "orderId": "producer-0-7", "customer": "k3"}
    assert job.check_options() == {"output_contract": "exactly-once-by-id", "id_field": "orderId"}
    rel = job.releases()["good"]
    assert rel.argv({"bootstrap": "b:9092", "input-topic": "in", "output-topic": "out"}) == \
        ["--brokers", "b:9092", "--in", "in", "--out", "out"]


@pytest.mark.parametrize("changes, key, wrong", [
    ({"jar": "jobs/missing.jar"}, "job.jar", "no such file"),
    ({"jar": None}, "job", "names no jar"),
    ({"maven": "org.example:enrich"}, "job.jar", "both given"),
    ({"jar": None, "maven": "not coordinates"}, "job.maven", "group:artifact:version"),
    ({"entry_class": "not a class!"}, "job.entry_class", "main class"),
    ({"args": ["--in", "{input}"]}, "job.args[1]", "{input_topic}"),
    ({"args": ["--x", "{oops"]}, "job.args[1]", "braces"),
    ({"parallelism": 0}, "job.parallelism", "1 or more"),
    ({"output": {"contract": "exactly-twice"}}, "job.output.contract", "neither built in"),
    ({"output": {"contract": "per-key-sequence"}}, "job.output.sequence_field", "is missing"),
    ({"output": {"id_field": "a", "id_header": "b"}}, "job.output.id_field", "both given"),
    ({"output": {"contract": "no_such_mod_q:check"}}, "job.output.contract", "cannot be loaded"),
    ({"colour": "red"}, "job.colour", "unknown"),
])
def test_a_bad_job_section_is_one_line(tmp_path, changes, key, wrong):
    path = write(tmp_path, job_with(**changes))
    with pytest.raises(profiles.ProfileError) as info:
        profiles.load(path)
    msg = str(info.value)
    assert "\n" not in msg and f"`{key}`" in msg and wrong in msg and ";" in msg, msg


def test_maven_coordinates_that_do_not_resolve_are_one_line(tmp_path, monkeypatch):
    """Real Maven, against its configured repositories: an artifact nobody published."""
    monkeypatch.setenv("CHAOS_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(profiles.ProfileError) as info:
        resolve_jar(None, "org.example.chaos-absent:nothing-here:0.0.1")
    msg = str(info.value)
    assert "\n" not in msg and "cannot be resolved with Maven" in msg, msg
