package io.fractalrmo.registry.bench;

import io.fractalrmo.platform.kafka.EmbeddedKafka;
import io.fractalrmo.registry.server.SchemaRegistryServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Requests per second of the Kafka-backed registry on this machine, over loopback: POST of new
 * schemas (each one a Kafka transaction), POST of an already registered schema (answered from
 * memory), and GET /schemas/ids/{id}. Bounded in time and count; stops by itself.
 * Run: {@code ./mvnw -B -pl registry -Pbench test-compile exec:exec -Dbench.main=io.fractalrmo.registry.bench.RegistryLoad}
 * (optional {@code -Dbench.args="<seconds per phase> <client threads>"}).
 */
public final class RegistryLoad {

  private static final Logger LOG = LoggerFactory.getLogger(RegistryLoad.class);
  private static final String CT = "application/vnd.schemaregistry.v1+json";

  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int threads = args.length > 1 ? Integer.parseInt(args[1]) : 4;
    Path dir = Files.createTempDirectory("registry-load-");
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
         SchemaRegistryServer server = SchemaRegistryServer.start(kafka.bootstrapServers(), 0)) {
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      String base = server.url();
      AtomicInteger counter = new AtomicInteger();
      // warm-up: transactional producer, JIT
      run(http, threads, 2, i -> {
        int n = counter.incrementAndGet();
        return post(base, "/subjects/warm-" + n + "/versions", schema("w" + n));
      });
      double newSchemas = run(http, threads, seconds,
          i -> {
            int n = counter.incrementAndGet();
            return post(base, "/subjects/load-" + n + "/versions", schema("f" + n));
          });
      String known = schema("known");
      int id = Integer.parseInt(send(http, post(base, "/subjects/known/versions", known)).replaceAll("\\D", ""));
      double sameSchema = run(http, threads, seconds, i -> post(base, "/subjects/known/versions", known));
      double getById = run(http, threads, seconds,
          i -> HttpRequest.newBuilder(URI.create(base + "/schemas/ids/" + id)).GET().build());
      String report = String.format("registry load (%d client threads, %d s per phase): "
          + "POST new schema %.0f req/s, POST registered schema %.0f req/s, GET /schemas/ids/{id} %.0f req/s",
          threads, seconds, newSchemas, sameSchema, getById);
      LOG.info(report);
      System.out.println(report); // a benchmark's result is its output
    } finally {
      try (var walk = Files.walk(dir)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static String schema(String field) {
    return "{\"schema\":\"{\\\"type\\\":\\\"record\\\",\\\"name\\\":\\\"L\\\",\\\"fields\\\":[{\\\"name\\\":\\\""
        + field + "\\\",\\\"type\\\":\\\"string\\\"}]}\"}";
  }

  private static HttpRequest post(String base, String path, String body) {
    return HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", CT)
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
  }

  private static String send(HttpClient http, HttpRequest r) throws Exception {
    HttpResponse<String> resp = http.send(r, HttpResponse.BodyHandlers.ofString());
    if (resp.statusCode() != 200) {
      throw new IllegalStateException(r.uri() + " -> " + resp.statusCode() + " " + resp.body());
    }
    return resp.body();
  }

  /** Runs {@code threads} loops for {@code seconds} (at most 200k requests); returns requests per second. */
  private static double run(HttpClient http, int threads, int seconds, IntFunction<HttpRequest> request)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    AtomicInteger done = new AtomicInteger();
    long start = System.nanoTime();
    long end = start + Duration.ofSeconds(seconds).toNanos();
    List<Future<?>> fs = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      fs.add(pool.submit(() -> {
        int i = 0;
        while (System.nanoTime() < end && done.get() < 200_000) {
          send(http, request.apply(i++));
          done.incrementAndGet();
        }
        return null;
      }));
    }
    for (Future<?> f : fs) {
      f.get();
    }
    pool.shutdown();
    return done.get() / ((System.nanoTime() - start) / 1e9);
  }
}
