package io.fractalrmo.streams.rules;

import io.fractalrmo.contracts.RuleActionKind;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Stable ids: a rule's id is a readable slug of its action kind and pattern key plus a short
 * hash of both (so two keys that slug alike never collide), e.g.
 * {@code add-missing-imports.dependency.nameerror.math.5d41402a}. A trial's id names the rule
 * version it tries; a trial action's id is {@code <trial_id>:<arm>:<n>}.
 */
public final class RuleIds {

  private RuleIds() {
  }

  public static String ruleId(String patternKey, RuleActionKind kind) {
    return slug(kind.name() + "." + patternKey) + "." + hash(kind.name() + "|" + patternKey);
  }

  /** Whether {@code ruleId} names a rule of {@code kind} (its id begins with the kind). */
  public static boolean isOfKind(String ruleId, RuleActionKind kind) {
    return ruleId.startsWith(slug(kind.name()) + ".");
  }

  private static String slug(String s) {
    return s.toLowerCase(Locale.ROOT).replace('_', '-').replaceAll("[^a-z0-9.-]+", ".")
        .replaceAll("\\.+", ".").replaceAll("^\\.|\\.$", "");
  }

  public static String trialId(String ruleId, int version) {
    return ruleId + ".v" + version + ".trial";
  }

  public static String trialActionId(String trialId, String arm, int n) {
    return trialId + ":" + arm + ":" + n;
  }

  /** The {@code n} of a trial action id ({@code <trial_id>:<arm>:<n>}); -1 when there is none. */
  public static int trialActionIndex(String trialActionId) {
    int colon = trialActionId == null ? -1 : trialActionId.lastIndexOf(':');
    if (colon < 0) {
      return -1;
    }
    try {
      return Integer.parseInt(trialActionId.substring(colon + 1));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static String hash(String s) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 4);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
