package io.fractalrmo.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Instance slots of a host, and cleaning up the scopes of a finished run. */
class SlotLeaseTest {

  @TempDir
  Path dir;

  @Test
  void twoHoldersOfOneScopeGetTwoSlotsAndAFreedSlotIsReused() {
    try (SlotLease a = SlotLease.acquire(dir, "group-a");
        SlotLease b = SlotLease.acquire(dir, "group-a")) {
      assertThat(a.slot()).isZero();
      assertThat(b.slot()).isEqualTo(1);
      a.close();
      try (SlotLease c = SlotLease.acquire(dir, "group-a")) {
        assertThat(c.slot()).as("the lowest free number").isZero();
      }
    }
  }

  @Test
  void deleteScopesRemovesTheRunsFreeScopesAndLeavesHeldAndOtherOnes() throws Exception {
    SlotLease done = SlotLease.acquire(dir, "bench-r1-work.fractal-executor");
    SlotLease done2 = SlotLease.acquire(dir, "bench-r1-work.fractal-executor");
    done.close();
    done2.close();
    try (SlotLease held = SlotLease.acquire(dir, "bench-r1-work.fractal-validator");
        SlotLease other = SlotLease.acquire(dir, "fractal-executor")) {
      int removed = SlotLease.deleteScopes(dir, "bench-r1-work.");

      assertThat(removed).isEqualTo(1);
      assertThat(dir.resolve("bench-r1-work.fractal-executor")).doesNotExist();
      assertThat(dir.resolve("bench-r1-work.fractal-validator").resolve("0.lock"))
          .as("a slot a live instance holds stays").exists();
      assertThat(dir.resolve("fractal-executor").resolve("0.lock")).exists();
      try (SlotLease again = SlotLease.acquire(dir, "bench-r1-work.fractal-validator")) {
        assertThat(again.slot()).as("the held slot is still held").isEqualTo(1);
      }
    }
    assertThat(SlotLease.deleteScopes(dir, "bench-r1-work.")).isEqualTo(1);
    assertThat(Files.list(dir).map(p -> p.getFileName().toString()))
        .containsExactly("fractal-executor");
  }

  @Test
  void deleteScopesOfAMissingDirectoryOrAnEmptyPrefixDoesNothing() {
    assertThat(SlotLease.deleteScopes(dir.resolve("none"), "x")).isZero();
    try (SlotLease a = SlotLease.acquire(dir, "g")) {
      a.close();
      assertThat(SlotLease.deleteScopes(dir, "")).as("an empty prefix names no run").isZero();
      assertThat(dir.resolve("g")).exists();
    }
  }
}
