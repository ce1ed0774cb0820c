/*
 * A small KIP-405 RemoteStorageManager for the chaos harness: copies each rolled log
 * segment and its indexes to one S3 bucket (path-style, SigV4, plain HTTP to MinIO
 * through the zone's Toxiproxy) and reads them back with ranged GETs.
 *
 * Only the JDK and Kafka's storage API are used, so the plugin directory holds this
 * one jar. Broker configuration (Kafka strips the rsm.config. prefix):
 *   rsm.config.s3.endpoint     http://host:port
 *   rsm.config.s3.bucket       bucket (must exist)
 *   rsm.config.s3.region       signing region (default us-east-1)
 *   rsm.config.s3.access.key / rsm.config.s3.secret.key
 *   rsm.config.key.prefix      optional prefix of every object key
 * Object keys: <prefix><topic>-<partition>-<topicId>/<startOffset>-<segmentId>.<suffix>
 */
package io.chaosharness.tiered;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import org.apache.kafka.common.TopicIdPartition;
import org.apache.kafka.server.log.remote.storage.LogSegmentData;
import org.apache.kafka.server.log.remote.storage.RemoteLogSegmentMetadata;
import org.apache.kafka.server.log.remote.storage.RemoteResourceNotFoundException;
import org.apache.kafka.server.log.remote.storage.RemoteStorageException;
import org.apache.kafka.server.log.remote.storage.RemoteStorageManager;

public final class S3RemoteStorageManager implements RemoteStorageManager {
    private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'");
    private static final String UNSIGNED = "UNSIGNED-PAYLOAD";

    private URI endpoint;
    private String bucket;
    private String region;
    private String accessKey;
    private String secretKey;
    private String prefix;
    private HttpClient http;

    @Override
    public void configure(Map<String, ?> configs) {
        endpoint = URI.create(required(configs, "s3.endpoint").replaceAll("/+$", ""));
        bucket = required(configs, "s3.bucket");
        region = optional(configs, "s3.region", "us-east-1");
        accessKey = required(configs, "s3.access.key");
        secretKey = required(configs, "s3.secret.key");
        prefix = optional(configs, "key.prefix", "");
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
    }

    private static String required(Map<String, ?> configs, String key) {
        Object v = configs.get(key);
        if (v == null || v.toString().isEmpty()) {
            throw new IllegalArgumentException("rsm.config." + key + " is required");
        }
        return v.toString();
    }

    private static String optional(Map<String, ?> configs, String key, String fallback) {
        Object v = configs.get(key);
        return v == null ? fallback : v.toString();
    }

    // ---- object names ---------------------------------------------------------------
    private String base(RemoteLogSegmentMetadata md) {
        TopicIdPartition tp = md.remoteLogSegmentId().topicIdPartition();
        return prefix + tp.topic() + "-" + tp.partition() + "-" + tp.topicId() + "/"
                + String.format("%020d", md.startOffset()) + "-" + md.remoteLogSegmentId().id();
    }

    private static String suffix(IndexType type) {
        switch (type) {
            case OFFSET: return ".index";
            case TIMESTAMP: return ".timeindex";
            case PRODUCER_SNAPSHOT: return ".snapshot";
            case TRANSACTION: return ".txnindex";
            case LEADER_EPOCH: return ".leader-epoch-checkpoint";
            default: throw new IllegalArgumentException("unknown index type " + type);
        }
    }

    // ---- RemoteStorageManager ---------------------------------------------------------
    @Override
    public Optional<RemoteLogSegmentMetadata.CustomMetadata> copyLogSegmentData(
            RemoteLogSegmentMetadata md, LogSegmentData data) throws RemoteStorageException {
        String base = base(md);
        putFile(base + ".log", data.logSegment());
        putFile(base + suffix(IndexType.OFFSET), data.offsetIndex());
        putFile(base + suffix(IndexType.TIMESTAMP), data.timeIndex());
        if (data.transactionIndex().isPresent()) {
            putFile(base + suffix(IndexType.TRANSACTION), data.transactionIndex().get());
        }
        putFile(base + suffix(IndexType.PRODUCER_SNAPSHOT), data.producerSnapshotIndex());
        ByteBuffer epochs = data.leaderEpochIndex().duplicate();
        byte[] bytes = new byte[epochs.remaining()];
        epochs.get(bytes);
        put(base + suffix(IndexType.LEADER_EPOCH), HttpRequest.BodyPublishers.ofByteArray(bytes));
        return Optional.empty();
    }

    @Override
    public InputStream fetchLogSegment(RemoteLogSegmentMetadata md, int startPosition) throws RemoteStorageException {
        return get(base(md) + ".log", "bytes=" + startPosition + "-");
    }

    @Override
    public InputStream fetchLogSegment(RemoteLogSegmentMetadata md, int startPosition, int endPosition)
            throws RemoteStorageException {
        return get(base(md) + ".log", "bytes=" + startPosition + "-" + endPosition);
    }

    @Override
    public InputStream fetchIndex(RemoteLogSegmentMetadata md, IndexType type) throws RemoteStorageException {
        return get(base(md) + suffix(type), null);
    }

    @Override
    public void deleteLogSegmentData(RemoteLogSegmentMetadata md) throws RemoteStorageException {
        String base = base(md);
        List<String> keys = new ArrayList<>(List.of(base + ".log"));
        for (IndexType t : IndexType.values()) {
            keys.add(base + suffix(t));
        }
        for (String key : keys) {
            HttpResponse<String> r = send(request("DELETE", key, null).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() / 100 != 2 && r.statusCode() != 404) {
                throw new RemoteStorageException("DELETE " + key + ": HTTP " + r.statusCode() + " " + r.body());
            }
        }
    }

    @Override
    public void close() {
        http = null;
    }

    // ---- S3 over HTTP -------------------------------------------------------------------
    private void putFile(String key, Path file) throws RemoteStorageException {
        try {
            put(key, HttpRequest.BodyPublishers.ofFile(file));
        } catch (java.io.FileNotFoundException e) {
            throw new RemoteStorageException("cannot read " + file, e);
        }
    }

    private void put(String key, HttpRequest.BodyPublisher body) throws RemoteStorageException {
        HttpResponse<String> r = send(request("PUT", key, null).PUT(body).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw new RemoteStorageException("PUT " + key + ": HTTP " + r.statusCode() + " " + r.body());
        }
    }

    private InputStream get(String key, String range) throws RemoteStorageException {
        HttpResponse<InputStream> r = send(request("GET", key, range).GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
        int code = r.statusCode();
        if (code / 100 == 2) {
            return r.body();
        }
        String detail;
        try (InputStream in = r.body()) {
            detail = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            detail = e.toString();
        }
        if (code == 404) {
            throw new RemoteResourceNotFoundException("GET " + key + ": not found");
        }
        throw new RemoteStorageException("GET " + key + ": HTTP " + code + " " + detail);
    }

    private <T> HttpResponse<T> send(HttpRequest req, HttpResponse.BodyHandler<T> handler)
            throws RemoteStorageException {
        try {
            return http.send(req, handler);
        } catch (IOException e) {
            throw new RemoteStorageException(req.method() + " " + req.uri() + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RemoteStorageException(req.method() + " " + req.uri() + " interrupted", e);
        }
    }

    /** A request builder with SigV4 headers (unsigned payload) for bucket/key. */
    private HttpRequest.Builder request(String method, String key, String range) {
        String path = "/" + encode(bucket) + "/" + encodePath(key);
        URI uri = URI.create(endpoint + path);
        String host = uri.getPort() == -1 ? uri.getHost() : uri.getHost() + ":" + uri.getPort();
        ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
        String amzDate = AMZ_DATE.format(now);
        String day = amzDate.substring(0, 8);
        String scope = day + "/" + region + "/s3/aws4_request";
        String signedHeaders = "host;x-amz-content-sha256;x-amz-date";
        String canonical = method + "\n" + path + "\n\n"
                + "host:" + host + "\n" + "x-amz-content-sha256:" + UNSIGNED + "\n" + "x-amz-date:" + amzDate + "\n"
                + "\n" + signedHeaders + "\n" + UNSIGNED;
        String toSign = "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex(sha256(canonical));
        byte[] k = hmac(("AWS4" + secretKey).getBytes(StandardCharsets.UTF_8), day);
        k = hmac(k, region);
        k = hmac(k, "s3");
        k = hmac(k, "aws4_request");
        String auth = "AWS4-HMAC-SHA256 Credential=" + accessKey + "/" + scope + ", SignedHeaders=" + signedHeaders
                + ", Signature=" + hex(hmac(k, toSign));
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60))
                .header("x-amz-date", amzDate).header("x-amz-content-sha256", UNSIGNED).header("Authorization", auth);
        if (range != null) {
            b.header("Range", range);
        }
        if ("DELETE".equals(method)) {
            b.DELETE();
        }
        return b;
    }

    private static String encodePath(String key) {
        StringBuilder out = new StringBuilder();
        for (String part : key.split("/", -1)) {
            if (out.length() > 0) {
                out.append('/');
            }
            out.append(encode(part));
        }
        return out.toString();
    }

    private static String encode(String s) {
        StringBuilder out = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '_' || c == '.' || c == '~') {
                out.append(c);
            } else {
                out.append(String.format("%%%02X", b & 0xff));
            }
        }
        return out.toString();
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hex(byte[] bytes) {
        StringBuilder out = new StringBuilder();
        for (byte b : bytes) {
            out.append(String.format("%02x", b & 0xff));
        }
        return out.toString();
    }
}
