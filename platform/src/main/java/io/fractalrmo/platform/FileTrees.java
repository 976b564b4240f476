package io.fractalrmo.platform;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Removing directories we made ourselves (temporary state, half-extracted binaries). */
public final class FileTrees {

  private FileTrees() {
  }

  /**
   * Deletes {@code root} and everything below it, best effort: links are removed, not followed.
   *
   * @return true when nothing of it is left
   */
  public static boolean deleteTree(Path root) {
    if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      return true;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          // keep going; the result below says whether anything remained
        }
      });
    } catch (IOException | UncheckedIOException e) {
      // an unreadable subdirectory: reported by the check below
    }
    return !Files.exists(root, LinkOption.NOFOLLOW_LINKS);
  }
}
