"""The recording consumer's librdkafka settings: the fetch-queue backoff that keeps a
recording consumer fetching, and a profile's own setting winning over it."""
from kfchaos.clients import RecordingConsumer
from kfchaos.clients.consumer import FETCH_QUEUE_BACKOFF_MS
from kfchaos.history import History


def test_the_fetch_queue_backoff_is_short_unless_the_profile_sets_it():
    h = History(None)
    own = RecordingConsumer("127.0.0.1:1", "t", None, h, config={"log_level": 0})
    theirs = RecordingConsumer("127.0.0.1:1", "t", "g", h, config={"log_level": 0, "fetch.queue.backoff.ms": 1000})
    try:
        assert own.config["fetch.queue.backoff.ms"] == FETCH_QUEUE_BACKOFF_MS < 1000
        assert theirs.config["fetch.queue.backoff.ms"] == 1000
    finally:
        own.close()
        theirs.close()
