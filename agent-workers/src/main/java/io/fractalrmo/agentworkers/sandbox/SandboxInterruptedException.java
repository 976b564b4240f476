package io.fractalrmo.agentworkers.sandbox;

/**
 * A run did not finish because its thread was interrupted or the sandbox was closed; every process
 * of the run was killed. It is not a result: nothing about the program may be concluded from it.
 * The thread's interrupt flag is set again when it was the cause.
 */
public final class SandboxInterruptedException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public SandboxInterruptedException(String message) {
    super(message);
  }
}
