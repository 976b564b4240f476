package io.fractalrmo.platform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataDirLockTest {

  @TempDir
  Path dir;

  @Test
  void shouldRefuseADirectoryInUseAndNameTheOwner() {
    try (DataDirLock first = DataDirLock.acquire(dir.resolve("data"))) {
      assertThat(first.file()).exists();
      assertThatThrownBy(() -> DataDirLock.acquire(dir.resolve("data")))
          .isInstanceOf(PlatformException.class)
          .hasMessageContaining("in use")
          .hasMessageContaining("pid " + ProcessHandle.current().pid())
          .hasMessageContaining("--data-dir");
    }
    DataDirLock.acquire(dir.resolve("data")).close(); // free again once released
  }

  @Test
  void shouldTakeOverALockFileLeftBehind() throws Exception {
    Path data = Files.createDirectories(dir.resolve("data"));
    Files.writeString(data.resolve(DataDirLock.FILE_NAME), "999999\n"); // from a killed run
    try (DataDirLock lock = DataDirLock.acquire(data)) {
      assertThat(Files.readString(lock.file()).trim()).isEqualTo(Long.toString(ProcessHandle.current().pid()));
    }
  }

  @Test
  void shouldExplainAnUnwritableDirectory() throws Exception {
    Path readOnly = Files.createDirectory(dir.resolve("ro"),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("r-xr-xr-x")));
    Path file = Files.writeString(dir.resolve("a-file"), "x");
    // root may write anywhere, so a plain file in the way is the portable "cannot create" case
    assertThatThrownBy(() -> DataDirLock.acquire(file.resolve("data")))
        .isInstanceOf(PlatformException.class)
        .hasMessageContaining("--data-dir");
    if (!Files.isWritable(readOnly)) {
      assertThatThrownBy(() -> DataDirLock.acquire(readOnly))
          .isInstanceOf(PlatformException.class)
          .hasMessageContaining("not writable");
    }
  }
}
