package io.fractalrmo.platform;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InstanceIdsTest {

  @TempDir
  Path dir;

  @Test
  void shouldGiveTheSameIdForTheSameDirectoryAndAnotherForAnother() {
    String first = InstanceIds.stable(dir.resolve("a"), "sink");
    assertThat(first).matches("sink-[0-9a-f]{8}");
    assertThat(InstanceIds.stable(dir.resolve("a"), "sink")).isEqualTo(first);
    assertThat(InstanceIds.stable(dir.resolve("b"), "sink")).isNotEqualTo(first);
    assertThat(InstanceIds.stable(dir.resolve("a"), "streams"))
        .isEqualTo("streams-" + first.substring("sink-".length()));
  }
}
