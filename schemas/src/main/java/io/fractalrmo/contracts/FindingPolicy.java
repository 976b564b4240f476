package io.fractalrmo.contracts;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * What a static finding does, per finding type and per confinement — the one policy the plan,
 * the executor and the validator apply. The kernel's layers are the defence (names built at run
 * time walk past any parser); a finding is a signal. It still BLOCKs where the code shows intent
 * to get out (start programs, open sockets, make raw system calls), ALERTs an operator where the
 * intent is worth a look but the layers contain it, and is only RECORDed otherwise. Without a
 * confining layer (the sandbox runs on an explicit unsafe opt-in) the static gate is all there is,
 * so the stricter column applies.
 *
 * <p>The plan, which cannot know an executor's sandbox, applies the {@link Confinement#CONFINED}
 * column; each executor and validator applies the column of its own sandbox before it runs code.
 * Findings of other aspects (syntax, logic, dependency, performance) inform rules and never block.
 * A SECURITY finding of a type this table does not know blocks when it is HIGH or worse or marked
 * blocking by its analyzer (fail safe), else it is an alert (recorded when confined). A
 * {@link #CONTRACT_VIOLATION} always blocks.
 */
public final class FindingPolicy {

  /** Finding type of a broken input contract (entry point, sizes, types, ranges). */
  public static final String CONTRACT_VIOLATION = "CONTRACT_VIOLATION";

  /** What a finding does to its action. */
  public enum Decision {
    /** Not run: the action is blocked and the task REJECTED, with an alert. */
    BLOCK,
    /** Run, and an operator is alerted ({@code fractal.alerts}). */
    ALERT,
    /** Run; the finding stays in the action's (and analysis') record. */
    RECORD
  }

  /** How the code that would run is confined. */
  public enum Confinement {
    /** A kernel layer keeps it off the network and the host's files (bubblewrap, Landlock). */
    CONFINED,
    /** No such layer: rlimits at most (the operator's explicit unsafe opt-in). */
    UNCONFINED;

    /**
     * From the names of the layers in force: confined when one of them blocks the network and
     * the host's files ({@code bubblewrap}, or {@code landlock}, which the launcher applies
     * together with its seccomp filter).
     */
    public static Confinement ofLayers(Collection<String> layers) {
      for (String l : layers) {
        String name = l.toLowerCase(Locale.ROOT);
        if (name.equals("bubblewrap") || name.startsWith("landlock")) {
          return CONFINED;
        }
      }
      return UNCONFINED;
    }
  }

  /** One row of the table: what a finding type does when confined and when not, and why. */
  public record Rule(String type, Decision confined, Decision unconfined, String why) {
    public Decision under(Confinement c) {
      return c == Confinement.CONFINED ? confined : unconfined;
    }
  }

  private static final Map<String, Rule> TABLE = table(
      new Rule("OS_COMMAND", Decision.BLOCK, Decision.BLOCK,
          "os.system/popen/exec*/spawn*, pty.spawn start a shell or another program: task code "
              + "computes in Python, so this is intent to get out, whatever the layers hold"),
      new Rule("SUBPROCESS", Decision.BLOCK, Decision.BLOCK,
          "subprocess.* starts another program: as OS_COMMAND"),
      new Rule("NETWORK_ACCESS", Decision.BLOCK, Decision.BLOCK,
          "sockets, urllib, http.client, requests, ftplib, smtplib: task code has no network; "
              + "trying is an attempt to reach the broker or to exfiltrate"),
      new Rule("NATIVE_CODE", Decision.BLOCK, Decision.BLOCK,
          "ctypes makes raw system calls and can undo any check made in Python; no task needs it"),
      new Rule("EVAL_CALL", Decision.RECORD, Decision.BLOCK,
          "eval() of a string the code built (HumanEval/160 evaluates the expression it "
              + "assembled): confined it can do no more than the code itself; unconfined, a "
              + "string built at run time walks past every static check"),
      new Rule("EXEC_CALL", Decision.RECORD, Decision.BLOCK, "exec(): as EVAL_CALL"),
      new Rule("DYNAMIC_IMPORT", Decision.ALERT, Decision.BLOCK,
          "__import__() of a name chosen at run time is how code hides an import from the "
              + "parser: worth an operator's look; confined, it reaches nothing the layers deny"),
      new Rule("FILE_WRITE_OUTSIDE_WORKDIR", Decision.ALERT, Decision.BLOCK,
          "the layers keep the host's files read-only, so the write fails when it runs; the "
              + "intent is worth an alert; unconfined it would succeed"),
      new Rule("FILE_WRITE", Decision.RECORD, Decision.ALERT,
          "a write to a computed path: normal inside the work dir; unconfined nothing keeps it "
              + "there"),
      new Rule("RISKY_IMPORT", Decision.RECORD, Decision.ALERT,
          "importing subprocess/socket/ctypes/pty does nothing by itself; its calls are judged "
              + "on their own"),
      new Rule("HARDCODED_SECRET", Decision.ALERT, Decision.ALERT,
          "a credential in the code is leaked already: running it changes nothing, an operator "
              + "must rotate it"));

  private FindingPolicy() {
  }

  private static Map<String, Rule> table(Rule... rules) {
    Map<String, Rule> m = new LinkedHashMap<>();
    for (Rule r : rules) {
      m.put(r.type(), r);
    }
    return java.util.Collections.unmodifiableMap(m);
  }

  /** The table, in order, for documentation and reports. */
  public static List<Rule> rules() {
    return List.copyOf(TABLE.values());
  }

  public static Optional<Rule> rule(String findingType) {
    return Optional.ofNullable(TABLE.get(findingType));
  }

  /** What {@code f} does to its action under {@code c}. */
  public static Decision decide(Finding f, Confinement c) {
    if (CONTRACT_VIOLATION.equals(f.getType())) {
      return Decision.BLOCK;
    }
    Rule known = TABLE.get(f.getType());
    if (known != null) {
      return known.under(c);
    }
    if (f.getAspect() != Aspect.SECURITY) {
      return Decision.RECORD;
    }
    if (f.getBlocking() || f.getSeverity().ordinal() >= Severity.HIGH.ordinal()) {
      return Decision.BLOCK;
    }
    return c == Confinement.CONFINED && f.getSeverity().ordinal() < Severity.MEDIUM.ordinal()
        ? Decision.RECORD : Decision.ALERT;
  }

  public static boolean blocks(Finding f, Confinement c) {
    return decide(f, c) == Decision.BLOCK;
  }

  /** The findings that block under {@code c}, in order. */
  public static List<Finding> blocking(Collection<Finding> findings, Confinement c) {
    return findings.stream().filter(f -> blocks(f, c)).toList();
  }

  /** The findings that alert an operator under {@code c}, in order. */
  public static List<Finding> alerting(Collection<Finding> findings, Confinement c) {
    return findings.stream().filter(f -> decide(f, c) == Decision.ALERT).toList();
  }

  /**
   * A finding's {@code blocking} flag as this policy sets it for the confined case: what an
   * analyzer records, so its analysis says what the plan will do. Findings of other aspects keep
   * their analyzer's flag (a blocking SYNTAX finding means the code does not compile).
   */
  public static Finding withPolicyFlag(Finding f) {
    if (f.getAspect() != Aspect.SECURITY) {
      return f;
    }
    boolean block = blocks(f, Confinement.CONFINED);
    return f.getBlocking() == block ? f : Finding.newBuilder(f).setBlocking(block).build();
  }
}
