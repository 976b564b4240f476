package io.fractalrmo.platform.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class KafkaNodeTest {

  @Test
  void operatorOptionsThatChooseACollectorReplaceTheDefaultOne() {
    assertThat(KafkaNode.selectsCollector("-XX:+UseSerialGC")).isTrue();
    assertThat(KafkaNode.selectsCollector("-Xmx2g -XX:+UseParallelGC -XX:TieredStopAtLevel=4"))
        .isTrue();
    assertThat(KafkaNode.selectsCollector("-XX:+UseZGC")).isTrue();
    assertThat(KafkaNode.selectsCollector("")).isFalse();
    assertThat(KafkaNode.selectsCollector("-Xmx2g -XX:TieredStopAtLevel=4")).isFalse();
    // a flag of a collector, not a choice of one
    assertThat(KafkaNode.selectsCollector("-XX:+UseGCOverheadLimit")).isFalse();
    assertThat(KafkaNode.selectsCollector("-XX:-UseSerialGC")).isFalse();
  }

  /** Why the default collector must step aside: the JVM refuses to start with two. */
  @Test
  void theJvmRefusesTwoCollectors() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "-XX:+UseG1GC", "-XX:+UseSerialGC", "-version")
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isNotZero();
    assertThat(out).containsIgnoringCase("garbage collectors");
  }
}
