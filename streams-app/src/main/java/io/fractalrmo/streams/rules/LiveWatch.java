package io.fractalrmo.streams.rules;

import java.util.ArrayList;
import java.util.List;

/**
 * What the protocol updater remembers of an ACTIVE rule's live life (internal state, JSON): the
 * ExpeL-style counters since it became ACTIVE and the last {@code window} outcomes of each arm
 * — held out (run without rules) and treated (run with rules) — in its scope.
 *
 * @param activatedAt outcomes validated before this do not count (they ran before the rule)
 * @param dirty changed since it was last published on the rule record
 */
public record LiveWatch(String ruleId, long activatedAt, long applied, long helped, long hurt,
    List<Obs> holdout, List<Obs> treated, boolean dirty) {

  /** One outcome: whether the rule targets it (see {@link LivePolicy}) and whether it failed. */
  public record Obs(boolean target, boolean failed) {
  }

  public LiveWatch {
    holdout = holdout == null ? List.of() : List.copyOf(holdout);
    treated = treated == null ? List.of() : List.copyOf(treated);
  }

  public static LiveWatch start(String ruleId, long activatedAt) {
    return new LiveWatch(ruleId, activatedAt, 0, 0, 0, List.of(), List.of(), false);
  }

  LiveWatch counted(long applied, long helped, long hurt) {
    return new LiveWatch(ruleId, activatedAt, this.applied + applied, this.helped + helped,
        this.hurt + hurt, holdout, treated, true);
  }

  LiveWatch observed(boolean heldOut, Obs obs, int window) {
    List<Obs> h = new ArrayList<>(holdout);
    List<Obs> t = new ArrayList<>(treated);
    List<Obs> arm = heldOut ? h : t;
    arm.add(obs);
    while (arm.size() > window) {
      arm.remove(0);
    }
    return new LiveWatch(ruleId, activatedAt, applied, helped, hurt, h, t, true);
  }

  LiveWatch published() {
    return new LiveWatch(ruleId, activatedAt, applied, helped, hurt, holdout, treated, false);
  }

  static long count(List<Obs> obs, boolean target) {
    return obs.stream().filter(o -> target ? o.target() : o.failed()).count();
  }
}
