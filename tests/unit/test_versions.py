"""Versions as parameters: which releases the harness can run, the matrix it builds, and where
the versions show (results, report header)."""
from __future__ import annotations

import pytest

from kfchaos import profiles
from kfchaos.images import versions
from kfchaos.matrix import combinations
from kfchaos.report.render import header_view
from kfchaos.results import RunResult


def test_pinned_versions_by_default():
    v = versions.platform_versions()
    assert v == {"kafka": versions.KAFKA_VERSION, "flink": versions.FLINK_VERSION,
                 "flink_kafka_connector": versions.FLINK_KAFKA_CONNECTOR, "flink_connector_flavour": "sql",
                 "flink_s3_plugin": "2.2.0"}


@pytest.mark.parametrize("req, wrong", [
    ({"kafka": "3.6.2"}, "older than 3.7"),
    ({"kafka": "4.1"}, "not a release number"),
    ({"flink": "1.18.1"}, "no Kafka connector"),
    ({"flink": "2.1.1"}, "no Kafka connector"),
])
def test_a_release_the_harness_cannot_run_is_one_line(req, wrong):
    with pytest.raises(versions.VersionError) as info:
        versions.platform_versions(req)
    assert wrong in str(info.value) and "\n" not in str(info.value) and ";" in str(info.value)


def test_each_flink_minor_gets_its_connector():
    assert versions.platform_versions({"flink": "1.19.3"})["flink_kafka_connector"] == "3.2.0-1.19"
    assert versions.platform_versions({"flink": "2.0.2"})["flink_kafka_connector"] == "4.0.1-2.0"
    assert versions.platform_versions({"flink": "2.0.2"})["flink_s3_plugin"] == "2.0.0"


@pytest.mark.parametrize("flink, connector, flavour, plugin", [
    ("2.2.0", "5.0.0-2.2", "sql", "2.2.0"),
    ("2.0.2", "4.0.1-2.0", "sql", "2.0.0"),
    ("1.20.3", "3.4.0-1.20", "plain", "1.20.0"),
    ("1.19.3", "3.2.0-1.19", "sql", "1.19.0"),
])
def test_the_connector_flavour_follows_what_maven_central_serves(flink, connector, flavour, plugin):
    """1.20 has no SQL uber-jar on Maven Central: the plain connector and unrelocated
    kafka-clients go into lib/, and the reference job is built without relocation."""
    v = versions.platform_versions({"flink": flink})
    assert (v["flink_kafka_connector"], v["flink_connector_flavour"], v["flink_s3_plugin"]) == \
        (connector, flavour, plugin)


def test_every_connector_has_a_known_flavour_and_a_plugin():
    assert set(versions.FLINK_KAFKA_CONNECTORS) == set(versions.FLINK_CONNECTOR_FLAVOUR) == \
        set(versions.FLINK_S3_PLUGINS)
    assert set(versions.FLINK_CONNECTOR_FLAVOUR.values()) <= set(versions.CONNECTOR_FLAVOURS)
    assert versions.FLINK_CONNECTOR_FLAVOUR[versions.FLINK_VERSION.rsplit(".", 1)[0]] == "sql"


def test_matrix_is_every_pair_and_keeps_the_profile_for_an_axis_not_given():
    p = profiles.from_dict({"name": "x", "platform": {"kind": "kafka", "versions": {"flink": "2.0.2"}}})
    got = combinations(p, "3.9.1, 4.1.1", None)
    assert got == [{"kafka": "3.9.1", "flink": "2.0.2"}, {"kafka": "4.1.1", "flink": "2.0.2"}]
    assert len(combinations(p, "3.9.1,4.1.1", "2.0.2,2.2.0")) == 4
    with pytest.raises(versions.VersionError):
        combinations(p, "3.9.1,3.0.0", None)


def test_versions_show_in_the_report_header():
    run = RunResult(profile="x", platform={"versions": {"kafka": "3.9.1", "flink": "2.2.0"}})
    meta = dict(header_view(run)["meta"])
    assert meta["kafka"] == "3.9.1" and meta["flink"] == "2.2.0"


def test_live_history_format(monkeypatch):
    from kfchaos.history import live_history_name
    assert live_history_name() == "history.jsonl"
    monkeypatch.setenv("CHAOS_HISTORY_FORMAT", "kfh")
    assert live_history_name() == "history.kfh"
    monkeypatch.setenv("CHAOS_HISTORY_FORMAT", "xml")
    with pytest.raises(ValueError, match="use jsonl or kfh"):
        live_history_name()


def test_the_flink_image_of_a_sql_release_keeps_its_tag_and_1_20_gets_the_plain_connector():
    from kfchaos.images import build
    from kfchaos.images.cache import fingerprint
    sql_pom = build.ASSETS / "flink" / "pom.xml"
    for flink, connector in (("2.2.0", "5.0.0-2.2"), ("2.0.2", "4.0.1-2.0")):     # the tags from before flavours
        assert build.flink_image_tag("base:x", flink) == \
            f"chaos-harness/flink:{fingerprint('flink', 'base:x', flink, connector, files=[sql_pom])}"
    plain = build._flink_extras_pom("plain")
    assert plain != sql_pom and build.flink_image_tag("base:x", "1.20.3") != build.flink_image_tag("base:x", "1.20.2")
    text = plain.read_text()
    assert "<artifactId>flink-connector-kafka</artifactId>" in text and "flink-sql-connector-kafka" not in text
