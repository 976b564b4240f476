package io.fractalrmo.platform.postgres;

import io.fractalrmo.platform.FileTrees;
import io.fractalrmo.platform.PlatformException;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLConnection;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds PostgreSQL server binaries: the zonky {@code .txz} on the classpath, extracted once into
 * a directory that an unprivileged server user can traverse ({@code <tmp>/fractal-pg-bin-<hash>}),
 * or, failing that, the system's {@code /usr/lib/postgresql/<version>/bin}.
 */
final class PostgresBinaries {

  private static final Logger LOG = LoggerFactory.getLogger(PostgresBinaries.class);
  private static final String RESOURCE = "postgres-linux-x86_64.txz";

  private PostgresBinaries() {
  }

  /** The {@code bin} directory holding {@code initdb} and {@code postgres}. */
  static Path locate() {
    PlatformException extractionFailure = null;
    try {
      Optional<Path> extracted = extracted();
      if (extracted.isPresent()) {
        return extracted.get();
      }
    } catch (PlatformException e) {
      extractionFailure = e;
      LOG.warn("Could not extract the bundled PostgreSQL binaries ({}); trying the system's", e.getMessage());
    }
    Optional<Path> system = system();
    if (system.isPresent()) {
      return system.get();
    }
    throw new PlatformException("no PostgreSQL binaries: the bundled ones "
        + (extractionFailure == null ? "are not on the classpath (" + RESOURCE + ")" : "could not be extracted: " + extractionFailure.getMessage())
        + ", and /usr/lib/postgresql/*/bin has none. Use --jdbc-url to point at an existing database.",
        extractionFailure);
  }

  private static Optional<Path> extracted() {
    URL resource = PostgresBinaries.class.getClassLoader().getResource(RESOURCE);
    if (resource == null) {
      return Optional.empty();
    }
    String arch = System.getProperty("os.arch", "");
    if (!arch.equals("amd64") && !arch.equals("x86_64")) {
      return Optional.empty();
    }
    Path base = Path.of(System.getProperty("java.io.tmpdir"));
    if (!EmbeddedPostgres.traversableByOthers(base)) {
      base = Path.of("/tmp");
    }
    Path target = base.resolve("fractal-pg-bin-" + fingerprint(resource));
    Path bin = target.resolve("bin");
    if (Files.isExecutable(bin.resolve("postgres")) && Files.isExecutable(bin.resolve("initdb"))) {
      return Optional.of(bin);
    }
    long started = System.nanoTime();
    Path staging = base.resolve("fractal-pg-bin-" + UUID.randomUUID() + ".tmp");
    try {
      Files.createDirectories(staging);
      untar(resource, staging);
      try {
        Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException e) {
        // another process extracted it at the same time, or an incomplete copy is in the way
        if (!Files.isExecutable(bin.resolve("postgres"))) {
          FileTrees.deleteTree(target);
          Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        }
      }
    } catch (IOException e) {
      throw new PlatformException("cannot extract " + RESOURCE + " into " + target + ": " + e.getMessage(), e);
    } finally {
      FileTrees.deleteTree(staging);
    }
    LOG.info("Extracted PostgreSQL binaries into {} in {} ms", target, (System.nanoTime() - started) / 1_000_000);
    return Optional.of(bin);
  }

  static Optional<Path> system() {
    Path root = Path.of("/usr/lib/postgresql");
    if (!Files.isDirectory(root)) {
      return Optional.empty();
    }
    try (Stream<Path> versions = Files.list(root)) {
      return versions
          .map(v -> v.resolve("bin"))
          .filter(b -> Files.isExecutable(b.resolve("postgres")) && Files.isExecutable(b.resolve("initdb")))
          .max(Comparator.comparing(b -> versionOf(b.getParent().getFileName().toString())));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static Integer versionOf(String name) {
    return name.matches("\\d+") ? Integer.parseInt(name) : 0;
  }

  private static String fingerprint(URL resource) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      URLConnection connection = resource.openConnection();
      digest.update(Long.toString(connection.getContentLengthLong()).getBytes(StandardCharsets.UTF_8));
      try (InputStream in = connection.getInputStream()) {
        digest.update(in.readNBytes(1 << 20)); // the head of the archive names the version
      }
      return HexFormat.of().formatHex(digest.digest(), 0, 8);
    } catch (IOException | NoSuchAlgorithmException e) {
      throw new PlatformException("cannot read " + resource + ": " + e.getMessage(), e);
    }
  }

  private static void untar(URL resource, Path into) throws IOException {
    try (InputStream raw = new BufferedInputStream(resource.openStream(), 1 << 16);
         XZCompressorInputStream xz = new XZCompressorInputStream(raw);
         TarArchiveInputStream tar = new TarArchiveInputStream(xz)) {
      TarArchiveEntry entry;
      while ((entry = tar.getNextEntry()) != null) {
        Path path = into.resolve(entry.getName()).normalize();
        if (!path.startsWith(into)) {
          throw new IOException("archive entry outside the target: " + entry.getName());
        }
        if (entry.isDirectory()) {
          Files.createDirectories(path);
          setMode(path, 0755);
        } else if (entry.isSymbolicLink()) {
          Files.createDirectories(path.getParent());
          Files.deleteIfExists(path);
          Files.createSymbolicLink(path, Path.of(entry.getLinkName()));
        } else if (entry.isLink()) {
          Files.createDirectories(path.getParent());
          Files.deleteIfExists(path);
          Files.createLink(path, into.resolve(entry.getLinkName()).normalize());
        } else {
          Files.createDirectories(path.getParent());
          Files.copy(tar, path, StandardCopyOption.REPLACE_EXISTING);
          setMode(path, (entry.getMode() & 0111) != 0 ? 0755 : 0644);
        }
      }
    }
    // make sure every directory (including implicit ones) is traversable by the server user
    try (Stream<Path> all = Files.walk(into)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          setMode(p, 0755);
        }
      }
    }
  }

  private static void setMode(Path path, int mode) throws IOException {
    Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
    PosixFilePermission[] order = {
        PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
        PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
        PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
    for (int i = 0; i < order.length; i++) {
      if ((mode & (1 << i)) != 0) {
        perms.add(order[i]);
      }
    }
    Files.setPosixFilePermissions(path, perms);
  }
}
