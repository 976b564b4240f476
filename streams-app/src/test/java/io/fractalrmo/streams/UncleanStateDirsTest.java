package io.fractalrmo.streams;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which task state directories go before Streams starts after a crash, and which stay. */
class UncleanStateDirsTest {

  @TempDir
  Path app;

  @Test
  void shouldRemoveOnlyTaskDirectoriesWithoutACheckpointAndKeepTheProcessId() throws Exception {
    Files.createDirectories(app.resolve("0_0/rocksdb/store"));
    Files.writeString(app.resolve("0_0/.checkpoint"), "0\n");          // a clean close: reused
    Files.createDirectories(app.resolve("0_1/rocksdb/store"));
    Files.writeString(app.resolve("0_1/rocksdb/store/000001.log"), "x"); // a crash: wiped anyway
    Files.createDirectories(app.resolve("2_2"));
    Files.writeString(app.resolve("kafka-streams-process-metadata"), "{\"processId\":\"p\"}");
    Files.createDirectories(app.resolve("not-a-task"));

    assertThat(UncleanStateDirs.remove(app)).containsExactlyInAnyOrder("0_1", "2_2");

    assertThat(app.resolve("0_0/.checkpoint")).exists();
    assertThat(app.resolve("0_1")).doesNotExist();
    assertThat(app.resolve("2_2")).doesNotExist();
    assertThat(app.resolve("kafka-streams-process-metadata")).exists();
    assertThat(app.resolve("not-a-task")).exists();
  }

  @Test
  void shouldTouchNothingWhileALiveInstanceHoldsTheDirectorysLock() throws Exception {
    Files.createDirectories(app.resolve("0_1/rocksdb"));
    try (FileChannel channel = FileChannel.open(app.resolve(".lock"), StandardOpenOption.CREATE,
        StandardOpenOption.WRITE);
         FileLock held = channel.lock()) {
      assertThat(UncleanStateDirs.remove(app)).isEmpty();
    }
    assertThat(app.resolve("0_1")).exists();
  }

  @Test
  void shouldDoNothingWithoutADirectory() {
    assertThat(UncleanStateDirs.remove(app.resolve("missing"))).isEmpty();
  }
}
