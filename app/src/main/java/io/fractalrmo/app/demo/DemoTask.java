package io.fractalrmo.app.demo;

/**
 * One task the demo submits.
 *
 * @param taskId unique task id (the Kafka key)
 * @param faulted the problem and its (possibly faulted) code
 * @param wave 1 = learning, before any rule; 2 = the comparison, after rules were adopted
 * @param arm what the task measures
 * @param pairId the same value for a comparison task's OFF and ON runs (same code), else the task id
 */
public record DemoTask(String taskId, FaultedCode faulted, int wave, Arm arm, String pairId) {

  /** What a task is for. */
  public enum Arm {
    /** Fresh tasks of wave 1 that the system learns from, run before any rule existed. */
    LEARN,
    /** A comparison task of wave 2, submitted with {@code fractal.rules=off}: no rule applied. */
    RULES_OFF,
    /** The same comparison task (same code, its own task id) in wave 2, with the rules on. */
    RULES_ON
  }

  /** Task attribute that asks the agents to run a task without protocol rules. */
  public static final String RULES_ATTRIBUTE = "fractal.rules";

  public Fault fault() {
    return faulted.fault();
  }
}
