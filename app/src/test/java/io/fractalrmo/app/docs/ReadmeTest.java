package io.fractalrmo.app.docs;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.TopicSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The README's promises that code can check: its topic table, its two commands, CI's command. */
class ReadmeTest {

  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  @Test
  void shouldListEveryTopicOfTheCatalogueAsDeclared() throws Exception {
    List<String> rows = Files.readAllLines(ROOT.resolve("README.md")).stream()
        .filter(l -> l.startsWith("| `fractal.")).toList();
    List<TopicSpec> topics = TopicCatalog.defaults().all();
    assertThat(rows).hasSize(topics.size());
    for (TopicSpec spec : topics) {
      String row = rows.stream().filter(r -> r.startsWith("| `" + spec.name() + "` |")).findFirst()
          .orElseThrow(() -> new AssertionError("README has no row for " + spec.name()));
      String[] cells = row.split("\\|");
      String record = spec.valueClass().map(Class::getSimpleName).map(n -> "`" + n + "`").orElse("original bytes + error headers");
      assertThat(cells[2].trim()).as(spec.name() + " value").isEqualTo(record);
      assertThat(cells[3].trim()).as(spec.name() + " key").isEqualTo(spec.key());
      assertThat(cells[4].trim()).as(spec.name() + " cleanup").isEqualTo(spec.cleanupPolicy());
      String retention = spec.compacted() ? "forever (latest per key)"
          : spec.retention().map(Duration::toDays).orElse(7L) + " days";
      assertThat(cells[5].trim()).as(spec.name() + " retention").isEqualTo(retention);
    }
  }

  @Test
  void shouldOpenWithTheRunAndTestCommandsThatCiRuns() throws Exception {
    String readme = Files.readString(ROOT.resolve("README.md"));
    String opening = readme.substring(0, readme.indexOf("## "));
    assertThat(opening).contains("./fractal ").contains("./mvnw -B verify");
    List<String> ci = Files.readAllLines(ROOT.resolve(".ci/run")).stream()
        .filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
    assertThat(ci.get(ci.size() - 1).trim()).isEqualTo("./mvnw -B verify");
    assertThat(Files.isExecutable(ROOT.resolve("fractal"))).isTrue();
  }
}
