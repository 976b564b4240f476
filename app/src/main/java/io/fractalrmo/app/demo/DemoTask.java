package io.fractalrmo.app.demo;

/**
 * One task the demo submits.
 *
 * @param taskId unique task id (the Kafka key)
 * @param faulted the problem and its (possibly faulted) code
 * @param wave 1 = before any rule, 2 = after rules were tried and adopted
 * @param arm what the task measures
 * @param pairId the same value for a comparison task's OFF and ON runs (same code), else the task id
 */
public record DemoTask(String taskId, FaultedCode faulted, int wave, Arm arm, String pairId) {

  /** What a task is for. */
  public enum Arm {
    /** Fresh tasks of wave 1 that the system learns from. */
    LEARN,
    /** Comparison tasks run before any rule existed. */
    RULES_OFF,
    /** The same comparison tasks (same code) run again after rules were adopted. */
    RULES_ON
  }

  public Fault fault() {
    return faulted.fault();
  }
}
