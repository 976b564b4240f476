package io.fractalrmo.streams.rules;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.streams.merge.PlanPolicy;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The live holdout: a share of tasks runs without protocol rules, so that every ACTIVE rule can
 * always be compared with its absence on the same traffic ({@link LivePolicy}). Whether a task
 * is held out is a pure function of its task id (a SHA-256 bucket), decided once, at plan time:
 * a re-planned or re-delivered task lands in the same arm. A plan whose task already says
 * {@code fractal.rules} (on or off) is left as it is — an upstream's own comparison, like the
 * demo's rules-off arm, is a holdout of its own making.
 */
public final class Holdout {

  /** Marks a held-out plan, for people reading the topics ({@value}=true). */
  public static final String HOLDOUT_ATTRIBUTE = "fractal.holdout";
  private static final int BUCKETS = 10_000;

  private final double share;

  public Holdout(double share) {
    if (share < 0 || share > 1) {
      throw new IllegalArgumentException("holdout share must be in [0, 1]: " + share);
    }
    this.share = share;
  }

  /** Whether the task with this id runs without rules. */
  public boolean heldOut(String taskId) {
    return taskId != null && bucket(taskId) < Math.round(share * BUCKETS);
  }

  /** The plan as the executors get it: with {@code fractal.rules=off} when held out. */
  public ActionItem mark(ActionItem plan) {
    if (plan == null || plan.getAttributes().containsKey(PlanPolicy.RULES_ATTRIBUTE)
        || !heldOut(plan.getTaskId())) {
      return plan;
    }
    Map<String, String> attributes = new LinkedHashMap<>(plan.getAttributes());
    attributes.put(PlanPolicy.RULES_ATTRIBUTE, "off");
    attributes.put(HOLDOUT_ATTRIBUTE, "true");
    return ActionItem.newBuilder(plan).setAttributes(attributes).build();
  }

  static int bucket(String taskId) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256")
          .digest(("holdout|" + taskId).getBytes(StandardCharsets.UTF_8));
      int v = ((d[0] & 0xff) << 24) | ((d[1] & 0xff) << 16) | ((d[2] & 0xff) << 8) | (d[3] & 0xff);
      return Math.floorMod(v, BUCKETS);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
