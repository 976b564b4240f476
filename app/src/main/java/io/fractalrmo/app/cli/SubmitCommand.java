package io.fractalrmo.app.cli;

import io.fractalrmo.agentworkers.worker.KafkaClientConfigs;
import io.fractalrmo.app.EndpointOptions;
import io.fractalrmo.app.ExitCodes;
import io.fractalrmo.connectors.outbox.InvalidTaskException;
import io.fractalrmo.connectors.outbox.OutboxWriter;
import io.fractalrmo.connectors.outbox.TaskJson;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.Language;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.contracts.TaskStatus;
import io.fractalrmo.platform.PlatformException;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.runtime.ConsumeLoop;
import io.fractalrmo.runtime.RetryPolicy;
import io.fractalrmo.runtime.TopicReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code fractal submit}: hands one task to the pipeline, straight to {@code fractal.tasks} or,
 * with {@code --via-outbox}, as a row in the outbox table that the outbox ingest streams in.
 * Prints the task id; with {@code --wait}, waits for the task's final status and prints it.
 */
@Command(name = "submit", mixinStandardHelpOptions = true,
    description = {"Submit a task (from flags or a JSON file) and print its id.",
        "Exit code with --wait: 0 when the task SUCCEEDED, 1 when it FAILED, was REJECTED or "
            + "did not finish in time."})
public final class SubmitCommand implements Callable<Integer> {

  private static final Set<TaskState> FINAL =
      EnumSet.of(TaskState.SUCCEEDED, TaskState.FAILED, TaskState.REJECTED);

  @Spec
  CommandSpec spec;

  @Mixin
  EndpointOptions endpoints;

  @ArgGroup(exclusive = true, multiplicity = "1")
  Source source;

  static final class Source {
    @Option(names = "--json", paramLabel = "FILE",
        description = "A task as JSON: the snake_case fields of the Task schema "
            + "(task_id, description, code, test_code, entry_point, time_limit_ms, ...).")
    Path json;

    @ArgGroup(exclusive = false)
    Flags flags;
  }

  static final class Flags {
    @Option(names = "--description", required = true, description = "What the task asks for.")
    String description;

    @Option(names = "--code-file", paramLabel = "FILE",
        description = "Candidate Python solution (absent: the model backend generates it).")
    Path codeFile;

    @Option(names = "--test-file", paramLabel = "FILE",
        description = "Python tests run after the solution; check(<entry point>) is called "
            + "when it defines check.")
    Path testFile;

    @Option(names = "--entry-point", paramLabel = "NAME", description = "Function under test.")
    String entryPoint;

    @Option(names = "--time-limit-ms", paramLabel = "MS", defaultValue = "10000",
        description = "Wall-clock limit of a run (default ${DEFAULT-VALUE}).")
    long timeLimitMs;

    @Option(names = "--priority", defaultValue = "3", description = "1 (highest) .. 5.")
    int priority;

    @Option(names = "--task-id", description = "Task id (default: a new UUID).")
    String taskId;
  }

  @Option(names = "--via-outbox",
      description = "Insert the task into the outbox table (needs --jdbc-url) instead of "
          + "producing it; the outbox ingest streams it to the tasks topic.")
  boolean viaOutbox;

  @Option(names = "--wait", description = "Wait for the task's final status and print it.")
  boolean await;

  @Option(names = "--wait-timeout", paramLabel = "DURATION", defaultValue = "PT2M",
      description = "How long --wait waits (ISO-8601, default ${DEFAULT-VALUE}).")
  Duration waitTimeout;

  @Override
  public Integer call() throws Exception {
    Endpoints resolved = endpoints.resolve();
    Task task = task();
    if (viaOutbox) {
      String jdbc = resolved.jdbcUrl().orElseThrow(() -> new PlatformException(
          "--via-outbox needs PostgreSQL: pass --jdbc-url or set FRACTAL_JDBC_URL"));
      try (Connection c = DriverManager.getConnection(jdbc)) {
        c.setAutoCommit(false);
        OutboxWriter.insert(c, task);
        c.commit();
      } catch (SQLException e) {
        throw new PlatformException("cannot insert into the outbox: " + e.getMessage(), e);
      }
    } else {
      produce(resolved, task);
    }
    spec.commandLine().getOut().println(task.getTaskId());
    spec.commandLine().getOut().flush();
    if (!await) {
      return ExitCodes.OK;
    }
    TaskStatus status = awaitFinal(resolved, task.getTaskId(), waitTimeout);
    if (status == null) {
      spec.commandLine().getErr().println("fractal: task " + task.getTaskId()
          + " has no final status after " + waitTimeout);
      return ExitCodes.FAILED;
    }
    StringBuilder line = new StringBuilder(status.getState().name());
    if (status.getFailureCategory() != null || status.getFailureReason() != null) {
      line.append(" (").append(status.getFailureCategory() == null ? ""
              : status.getFailureCategory() + ": ")
          .append(status.getFailureReason() == null ? "" : status.getFailureReason()).append(')');
    }
    if (!status.getAppliedRuleIds().isEmpty()) {
      line.append(" rules ").append(status.getAppliedRuleIds());
    }
    spec.commandLine().getOut().println(line);
    return status.getState() == TaskState.SUCCEEDED ? ExitCodes.OK : ExitCodes.FAILED;
  }

  private Task task() throws IOException {
    Instant now = Instant.now();
    if (source.json != null) {
      try {
        return TaskJson.parseSubmission(Files.readString(source.json), "cli", now);
      } catch (InvalidTaskException e) {
        throw new IllegalArgumentException(source.json + ": " + e.getMessage());
      }
    }
    Flags f = source.flags;
    if (f.priority < 1 || f.priority > 5) {
      throw new IllegalArgumentException("--priority must be 1..5");
    }
    if (f.timeLimitMs <= 0) {
      throw new IllegalArgumentException("--time-limit-ms must be > 0");
    }
    return Task.newBuilder()
        .setTaskId(f.taskId != null ? f.taskId : UUID.randomUUID().toString())
        .setDescription(f.description)
        .setPriority(f.priority)
        .setLanguage(Language.PYTHON)
        .setCode(f.codeFile == null ? null : Files.readString(f.codeFile))
        .setEntryPoint(f.entryPoint)
        .setTestCode(f.testFile == null ? null : Files.readString(f.testFile))
        .setTimeLimitMs(f.timeLimitMs)
        .setMemoryLimitMb(null)
        .setValidationLevel(3)
        .setSource("cli")
        .setSubmittedAt(now)
        .setAttributes(Map.of())
        .build();
  }

  private static void produce(Endpoints e, Task task) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, e.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 15_000);
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
    try (KafkaProducer<String, Task> producer = new KafkaProducer<>(p, new StringSerializer(),
        FractalSerdes.value(Task.class, FractalSerdes.config(e.schemaRegistryUrl()))
            .serializer())) {
      // the task's trace starts here
      org.apache.kafka.common.header.Headers headers =
          new org.apache.kafka.common.header.internals.RecordHeaders();
      io.fractalrmo.runtime.trace.Tracing.process().start("submit", "fractal-cli",
          (org.apache.kafka.common.header.Headers) null).writeTo(headers);
      producer.send(new ProducerRecord<>(e.topics().tasks().name(), null, task.getTaskId(), task,
          headers)).get();
    } catch (ExecutionException ex) {
      throw new PlatformException("cannot produce the task: " + ex.getCause().getMessage(), ex);
    } catch (InterruptedException ex) {
      Thread.currentThread().interrupt();
      throw new PlatformException("interrupted while producing the task", ex);
    }
  }

  /**
   * Reads the task's partition of the compacted status topic (the default partitioner's choice
   * for the key) from the start until a final state for the task appears, on the one consume-loop
   * skeleton: another task's record is never deserialized, one of this task's that cannot be read
   * is skipped, an outage of the broker or registry is retried until the timeout. Null when no
   * final state came in time; a {@link PlatformException} when the topic cannot be read at all.
   */
  static TaskStatus awaitFinal(Endpoints e, String taskId, Duration timeout) {
    String topic = e.topics().taskStatus().name();
    Deserializer<TaskStatus> statuses = FractalSerdes.value(TaskStatus.class,
        FractalSerdes.config(e.schemaRegistryUrl())).deserializer();
    CompletableFuture<TaskStatus> found = new CompletableFuture<>();
    TopicReader<String, byte[]> reader = new TopicReader<>(r -> {
      if (taskId.equals(r.key()) && r.value() != null) {
        TaskStatus status = statuses.deserialize(topic, r.headers(), r.value());
        if (FINAL.contains(status.getState())) {
          found.complete(status);
        }
      }
    });
    KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(
        KafkaClientConfigs.assignedReader(e.bootstrapServers(), "fractal-submit-wait"));
    ConsumeLoop<String, byte[]> loop = ConsumeLoop.builder("fractal-submit-wait", consumer, reader)
        .assign(c -> {
          List<org.apache.kafka.common.PartitionInfo> infos =
              c.partitionsFor(topic, Duration.ofSeconds(15));
          if (infos == null || infos.isEmpty()) {
            return List.of();
          }
          int partition = Utils.toPositive(Utils.murmur2(taskId.getBytes(StandardCharsets.UTF_8)))
              % infos.size();
          return List.of(new TopicPartition(topic, partition));
        })
        .pollTimeout(Duration.ofMillis(200))
        .retry(RetryPolicy.defaults().withTimeout(timeout))
        .build();
    loop.start();
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      while (System.nanoTime() < deadline) {
        try {
          return found.get(100, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException notYet) {
          if (!loop.isRunning() && loop.failure() != null) {
            throw new PlatformException("cannot read the status of task " + taskId + ": "
                + loop.failure().getMessage(), loop.failure());
          }
        } catch (ExecutionException ex) {
          throw new IllegalStateException(ex.getCause());
        }
      }
      return null;
    } catch (InterruptedException ex) {
      Thread.currentThread().interrupt();
      throw new PlatformException("interrupted while waiting for task " + taskId, ex);
    } finally {
      loop.stop();
      try {
        loop.awaitStopped(Duration.ofSeconds(5));
      } catch (InterruptedException ex) {
        Thread.currentThread().interrupt();
      }
      statuses.close();
    }
  }
}
