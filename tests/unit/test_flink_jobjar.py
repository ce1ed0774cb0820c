"""kfchaos.flink.jobjar: content hash, cache hit/miss, one-line build errors.

Maven is replaced by a small shell script (``mvn=``) except in the opt-in real build test
(``CHAOS_BUILD_JOB_JAR=1``), which runs the real ``mvn -q -B package`` on kfchaos/flink/job/.
"""
from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from kfchaos.flink import jobjar


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAOS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def project(tmp_path):
    p = tmp_path / "proj"
    (p / "src" / "main" / "java" / "x").mkdir(parents=True)
    (p / "pom.xml").write_text("<project/>")
    (p / "src" / "main" / "java" / "x" / "A.java").write_text("class A {}")
    return p


def fake_mvn(tmp_path: Path, body: str) -> str:
    script = tmp_path / "mvn"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_hash_is_stable_and_content_sensitive(project):
    h1 = jobjar.source_hash(project)
    assert h1 == jobjar.source_hash(project) and len(h1) == 64
    (project / "src" / "main" / "java" / "x" / "A.java").write_text("class A { int x; }")
    h2 = jobjar.source_hash(project)
    assert h2 != h1
    (project / "src" / "main" / "java" / "x" / "A.java").rename(
        project / "src" / "main" / "java" / "x" / "B.java")
    assert jobjar.source_hash(project) != h2          # names count, not only contents
    (project / "target").mkdir()
    (project / "target" / "junk").write_text("x")
    assert jobjar.source_hash(project) == jobjar.source_hash(project)


def test_hash_covers_the_real_project():
    proj = jobjar.job_project_dir()
    assert (proj / "pom.xml").is_file()
    files = [p.relative_to(proj).as_posix() for p in jobjar._source_files(proj)]
    assert "pom.xml" in files
    assert "src/main/java/harness/job/ExactlyOnceJob.java" in files
    assert not any(f.startswith("target/") for f in files)


def test_builds_once_then_uses_cache(project, tmp_path, cache, caplog):
    caplog.set_level("INFO", logger="chaos.flink-job")
    counter = tmp_path / "count"
    mvn = fake_mvn(tmp_path, f'echo run >> "{counter}"\nmkdir -p target\n'
                             'echo jar > target/chaos-flink-job.jar')
    jar = jobjar.build_job_jar(project=project, mvn=mvn)
    digest = jobjar.source_hash(project)
    assert jar == cache / "flink-job" / digest / "job.jar"
    assert jar.read_text() == "jar\n"
    assert jobjar.build_job_jar(project=project, mvn=mvn) == jar
    assert counter.read_text().count("run") == 1
    assert "building proj" in caplog.text and "using cached jar" in caplog.text
    jobjar.build_job_jar(project=project, mvn=mvn, force=True, quiet=True)
    assert counter.read_text().count("run") == 2


def test_build_failure_is_one_clear_line(project, tmp_path):
    mvn = fake_mvn(tmp_path, 'echo "[ERROR] COMPILATION ERROR : "\n'
                             'echo "[ERROR] /p/src/A.java:[3,5] cannot find symbol"\n'
                             'echo "[ERROR] -> [Help 1]" >&2\nexit 1')
    with pytest.raises(jobjar.JobJarBuildError) as ei:
        jobjar.build_job_jar(project=project, mvn=mvn, quiet=True)
    msg = str(ei.value)
    assert "\n" not in msg
    assert "mvn exit 1" in msg and "COMPILATION ERROR" in msg and "mvn -B package" in msg
    assert not jobjar.cached_jar_path(project=project).exists()


def test_build_without_jar_output(project, tmp_path):
    with pytest.raises(jobjar.JobJarBuildError, match="is missing"):
        jobjar.build_job_jar(project=project, mvn=fake_mvn(tmp_path, "exit 0"), quiet=True)


def test_missing_maven(project, monkeypatch):
    monkeypatch.setattr(jobjar.shutil, "which", lambda _n: None)
    with pytest.raises(jobjar.JobJarBuildError, match="`mvn` is not on PATH"):
        jobjar.build_job_jar(project=project, quiet=True)


def test_missing_project(tmp_path):
    with pytest.raises(jobjar.JobJarBuildError, match="no pom.xml"):
        jobjar.source_hash(tmp_path / "nothing")


def test_real_build_links_against_the_sql_connector_relocation():
    jar = jobjar.build_job_jar(quiet=True)
    with zipfile.ZipFile(jar) as z:
        names = set(z.namelist())
        assert "harness/job/ExactlyOnceJob.class" in names
        assert not any(n.startswith(("org/apache/kafka/", "org/apache/flink/connector/"))
                       for n in names)                  # everything Flink/Kafka is provided
        deser = z.read("harness/job/InputDeserializer.class")
        manifest = z.read("META-INF/MANIFEST.MF").decode()
    # kafka-clients references point at the copy inside flink-sql-connector-kafka
    assert b"org/apache/flink/kafka/shaded/org/apache/kafka/clients/consumer/ConsumerRecord" in deser
    assert b"Lorg/apache/kafka/" not in deser
    assert "Main-Class: " + jobjar.ENTRY_CLASS in manifest


def test_real_build_for_the_plain_connector_keeps_kafka_clients_unrelocated():
    """Flink 1.20's image carries flink-connector-kafka with kafka-clients unrelocated: its
    jar is the same build's unshaded jar, cached apart from the pinned release's."""
    jar = jobjar.build_job_jar(quiet=True, flink_version="1.20.3")
    assert jar != jobjar.cached_jar_path() and jar.parent.name != jobjar.source_hash()
    with zipfile.ZipFile(jar) as z:
        names = set(z.namelist())
        deser = z.read("harness/job/InputDeserializer.class")
    assert "harness/job/ExactlyOnceJob.class" in names
    assert not any(n.startswith(("org/apache/kafka/", "org/apache/flink/connector/")) for n in names)
    assert b"org/apache/kafka/clients/consumer/ConsumerRecord" in deser
    assert b"org/apache/flink/kafka/shaded" not in deser
    assert jobjar.build_job_jar(quiet=True, flink_version="1.20.3") == jar     # cached


def test_the_cache_key_of_a_sql_connector_release_is_what_it_was():
    """Adding the flavour must not move the jars already cached for the SQL releases."""
    import hashlib
    src = jobjar.source_hash()
    props = {"flink.version": "2.0.2", "flink.kafka.connector.version": "4.0.1-2.0"}
    before = hashlib.sha256((src + repr(sorted(props.items()))).encode()).hexdigest()
    assert jobjar.jar_digest(src, props, "sql") == before
    assert jobjar.jar_digest(src, {}, "sql") == src                  # the pinned release
    assert jobjar.jar_digest(src, props, "plain") not in (before, src)
    assert jobjar._version_properties(None) == {} and jobjar._version_properties("2.2.0") == {}
    assert jobjar._version_properties("2.0.2") == {**props, "flavour": "sql"}
    assert jobjar._version_properties("1.20.3")["flavour"] == "plain"
