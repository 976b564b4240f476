package io.fractalrmo.app.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What the bench counts of this JVM's own native threads, which ThreadMXBean does not see. */
class CpuTest {

  @Test
  void shouldGroupTheJvmsNativeThreadsByWhatTheyDoAndLeaveJavaThreadsToThreadMxBean() {
    assertThat(Cpu.vmThreadGroup("C1 CompilerThre")).isEqualTo(Cpu.JIT);
    assertThat(Cpu.vmThreadGroup("C2 CompilerThre")).isEqualTo(Cpu.JIT);
    assertThat(Cpu.vmThreadGroup("GC Thread#1")).isEqualTo(Cpu.GC);
    assertThat(Cpu.vmThreadGroup("G1 Conc#0")).isEqualTo(Cpu.GC);
    assertThat(Cpu.vmThreadGroup("VM Thread")).isEqualTo(Cpu.VM);
    assertThat(Cpu.vmThreadGroup("kafka-producer-")).isNull();
    assertThat(Cpu.vmThreadGroup("main")).isNull();
  }

  @Test
  void shouldCountTheJitCompilersOfThisJvmBesideItsJavaThreads() {
    Cpu.Snapshot s = Cpu.snapshot();

    // every HotSpot JVM with a JIT has compiler threads, and this one compiled the test
    assertThat(s.threadNames()).containsValue(Cpu.JIT);
    assertThat(s.threadNames()).containsValue(Thread.currentThread().getName());
    s.threadNames().forEach((id, name) -> {
      if (name.equals(Cpu.JIT)) {
        assertThat(id).isNegative();
      }
    });
  }
}
