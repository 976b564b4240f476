package io.fractalrmo.agentworkers.sandbox;

import io.fractalrmo.contracts.ExecutionConstraints;

/**
 * Limits of one sandboxed run. CPU seconds follow the wall-clock limit (ceil + 1 s) so a CPU spin
 * is stopped by the wall clock first and by RLIMIT_CPU as a backstop. {@code fileSizeBytes} bounds
 * each file (RLIMIT_FSIZE); {@code workDirBytes} bounds everything the run keeps in its work dir
 * together (the launcher measures it and kills the run past the bound; with bubblewrap the work dir
 * is also a tmpfs of {@link Bubblewrap#TMPFS_BYTES}).
 */
public record SandboxLimits(long timeoutMs, int memoryMb, int maxProcesses, int maxOutputBytes,
    long fileSizeBytes, long workDirBytes) {

  public static final long DEFAULT_FILE_SIZE_BYTES = 16L * 1024 * 1024;
  public static final long DEFAULT_WORK_DIR_BYTES = 64L * 1024 * 1024;

  public SandboxLimits {
    if (timeoutMs <= 0) {
      throw new IllegalArgumentException("timeoutMs must be positive: " + timeoutMs);
    }
    memoryMb = Math.max(32, memoryMb);
    maxProcesses = Math.max(1, maxProcesses);
    maxOutputBytes = Math.max(0, maxOutputBytes);
    fileSizeBytes = Math.max(0, fileSizeBytes);
    workDirBytes = Math.max(1024 * 1024, workDirBytes);
  }

  /** With the default work-dir bound. */
  public SandboxLimits(long timeoutMs, int memoryMb, int maxProcesses, int maxOutputBytes,
      long fileSizeBytes) {
    this(timeoutMs, memoryMb, maxProcesses, maxOutputBytes, fileSizeBytes, DEFAULT_WORK_DIR_BYTES);
  }

  public static SandboxLimits defaults() {
    return new SandboxLimits(10_000, 512, 64, 65_536, DEFAULT_FILE_SIZE_BYTES);
  }

  public static SandboxLimits from(ExecutionConstraints c) {
    return new SandboxLimits(c.getTimeoutMs(), c.getMemoryMb(), c.getMaxProcesses(),
        c.getMaxOutputBytes(), DEFAULT_FILE_SIZE_BYTES);
  }

  public SandboxLimits withTimeoutMs(long newTimeoutMs) {
    return new SandboxLimits(newTimeoutMs, memoryMb, maxProcesses, maxOutputBytes, fileSizeBytes,
        workDirBytes);
  }

  public SandboxLimits withWorkDirBytes(long bytes) {
    return new SandboxLimits(timeoutMs, memoryMb, maxProcesses, maxOutputBytes, fileSizeBytes,
        bytes);
  }

  public long cpuSeconds() {
    return (timeoutMs + 999) / 1000 + 1;
  }
}
