"""Saturation from container stats: pure logic over synthetic samples and stats documents."""
from kfchaos.platform.resources import Sample, container_ceilings, saturation, samples_from_stats


def _s(c, t, cpu=0.1, mem=100, disk=0.0, net=0.0):
    return Sample(c, t, cpu, mem, disk, net)


def test_host_cpu_saturates_first_and_names_top_users():
    samples = []
    for t in range(10):
        samples += [_s("kafka-a", t, cpu=0.2 + 0.1 * t), _s("flink-taskmanager", t, cpu=0.8)]
    out = saturation(samples, {}, host_cores=2)
    # host: 1.0+0.1t >= 1.8 from t=8, sustained at t=9
    assert out["saturated_first"].startswith("cpu of host (2 cores; top kafka-a 1.0, flink-taskmanager 0.8) at +8s")
    assert out["saturated"][0]["since_s"] == 8


def test_memory_limit_reached_before_cpu():
    samples = [_s("kafka-b", t, cpu=0.1, mem=500 + 100 * t) for t in range(8)]
    out = saturation(samples, {"kafka-b": {"memory": 1000}}, host_cores=2)
    assert out["saturated_first"] == "memory of kafka-b at +4s"


def test_single_spike_is_not_saturation_and_highest_is_reported():
    samples = [_s("minio", t, cpu=1.9 if t == 3 else 0.5) for t in range(6)]
    out = saturation(samples, {}, host_cores=2)
    assert out["saturated"] == []
    assert out["saturated_first"] == "none (highest: cpu of minio at 95%)"


def test_disk_and_network_need_a_ceiling():
    samples = [_s("kafka-a", t, disk=9e6, net=5e6) for t in range(5)]
    assert saturation(samples, {}, 2)["saturated"] == []
    out = saturation(samples, {"kafka-a": {"disk": 1e7}}, 2)
    assert out["saturated_first"] == "disk of kafka-a at +0s"
    assert out["peaks"]["kafka-a"]["disk_bps"] == 9e6


def test_container_cpu_limit_is_its_ceiling():
    samples = [_s("kafka-c", t, cpu=0.48) for t in range(3)]
    out = saturation(samples, {"kafka-c": {"cpu": 0.5}}, host_cores=2)
    assert out["saturated_first"] == "cpu of kafka-c at +0s"


def test_stats_documents_become_rates():
    def doc(t, total, system, io, net):
        return {"_t": t, "cpu_stats": {"cpu_usage": {"total_usage": total}, "system_cpu_usage": system,
                                       "online_cpus": 2},
                "precpu_stats": {"cpu_usage": {"total_usage": total - 5}, "system_cpu_usage": system - 10},
                "memory_stats": {"usage": 42},
                "blkio_stats": {"io_service_bytes_recursive": [{"op": "read", "value": io},
                                                               {"op": "write", "value": io}]},
                "networks": {"eth0": {"rx_bytes": net, "tx_bytes": 0}}}
    out = samples_from_stats("kafka-a", [doc(100.0, 50, 1000, 0, 0), doc(102.0, 60, 1010, 1000, 4000)], 100.0)
    assert len(out) == 1
    s = out[0]
    assert s.t == 2.0 and s.cpu_cores == 1.0 and s.mem_bytes == 42
    assert s.disk_bps == 1000.0 and s.net_bps == 2000.0


def test_ceilings_from_inspect():
    assert container_ceilings({"HostConfig": {"NanoCpus": 1_500_000_000, "Memory": 1024}}) == \
        {"cpu": 1.5, "memory": 1024.0}
    assert container_ceilings({"HostConfig": {"CpuQuota": 50000, "CpuPeriod": 100000}}) == {"cpu": 0.5}
    assert container_ceilings({}) == {}


def test_measured_host_cpu_wins_over_the_container_sum():
    samples = [_s("kafka-a", t, cpu=0.5) for t in range(4)] + [_s("host", t, cpu=1.9) for t in range(4)]
    out = saturation(samples, {}, host_cores=2)
    assert out["saturated_first"] == "cpu of host (2 cores; top kafka-a 0.5) at +0s"
    assert "host" in out["peaks"]


def test_only_the_load_step_window_counts():
    samples = [_s("kafka-a", t, cpu=1.95 if t < 3 else 0.2) for t in range(10)]
    assert saturation(samples, {}, 2)["saturated_first"].startswith("cpu of host")
    out = saturation(samples, {}, 2, window=(4, 9))
    assert out["saturated"] == [] and out["saturated_first"] == "none (highest: cpu of kafka-a at 10%)"
