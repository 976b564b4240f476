package io.fractalrmo.platform;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.UUID;

/**
 * A stable identity for a role instance, kept in its state directory: the same directory gives
 * the same id on every start, another directory another id. Used where Kafka needs an instance to
 * be recognised across a restart — a consumer's {@code group.instance.id} (static membership: a
 * restarted member takes its partitions back at once instead of the group waiting for the dead
 * member's session to expire) or a {@code transactional.id} (a restarted producer fences its
 * predecessor and aborts its open transaction at once).
 */
public final class InstanceIds {

  static final String FILE_NAME = "instance-id";

  private InstanceIds() {
  }

  /**
   * {@code <prefix>-<8 hex digits>}, the digits created in {@code dir/instance-id} on first use.
   *
   * @throws PlatformException if the directory cannot be created or the file written
   */
  public static String stable(Path dir, String prefix) {
    Path file = dir.resolve(FILE_NAME);
    try {
      Files.createDirectories(dir);
      if (Files.isRegularFile(file)) {
        String id = Files.readString(file, StandardCharsets.UTF_8).trim();
        if (id.matches("[0-9a-f]{8}")) {
          return prefix + "-" + id;
        }
      }
      String id = UUID.randomUUID().toString().substring(0, 8);
      Path tmp = dir.resolve(FILE_NAME + "." + UUID.randomUUID() + ".tmp");
      Files.writeString(tmp, id + "\n", StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      return prefix + "-" + Files.readString(file, StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      throw new PlatformException("cannot keep the instance id in " + file + ": " + e.getMessage(),
          e);
    }
  }
}
