package io.fractalrmo.app.replay;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a what-if replay found: each replayed action's live verdict against its verdict under the
 * chosen rule set, and per rule the difference — for a rule of the set, the actions it was
 * applied to in the replay that it fixed (failed live, passed now) or broke (passed live, failed
 * now); for a rule applied live but left out of the set, the actions that fail now without it
 * (it was needed) or still pass. Pure: everything comes from the constructor.
 */
public final class ReplayReport {

  /**
   * One replayed action.
   *
   * @param replayOk null when no replay verdict arrived in time
   */
  public record Item(String taskId, String actionId, boolean liveOk, List<String> liveRules,
      Boolean replayOk, List<String> replayRules, String replayFailure) {
  }

  /** A rule's difference. */
  public record RuleDiff(String ruleId, boolean inSet, int applied, int fixed, int broke,
      int neededLive, int notNeeded) {
  }

  private final String replayId;
  private final String ruleSet;
  private final List<String> setIds;
  private final List<Item> items;
  private final int failedSeen;
  private final int passedSeen;

  public ReplayReport(String replayId, String ruleSet, List<String> setIds, List<Item> items,
      int failedSeen, int passedSeen) {
    this.replayId = replayId;
    this.ruleSet = ruleSet;
    this.setIds = List.copyOf(setIds);
    this.items = List.copyOf(items);
    this.failedSeen = failedSeen;
    this.passedSeen = passedSeen;
  }

  public List<Item> items() {
    return items;
  }

  public long unanswered() {
    return items.stream().filter(i -> i.replayOk() == null).count();
  }

  public long fixed() {
    return items.stream().filter(i -> !i.liveOk() && Boolean.TRUE.equals(i.replayOk())).count();
  }

  public long broke() {
    return items.stream().filter(i -> i.liveOk() && Boolean.FALSE.equals(i.replayOk())).count();
  }

  public List<RuleDiff> rules() {
    Map<String, int[]> in = new TreeMap<>();
    Map<String, int[]> out = new TreeMap<>();
    setIds.forEach(id -> in.put(id, new int[3]));
    for (Item i : items) {
      if (i.replayOk() == null) {
        continue;
      }
      for (String id : i.replayRules()) {
        int[] c = in.computeIfAbsent(id, k -> new int[3]);
        c[0]++;
        c[1] += !i.liveOk() && i.replayOk() ? 1 : 0;
        c[2] += i.liveOk() && !i.replayOk() ? 1 : 0;
      }
      for (String id : i.liveRules()) {
        if (!setIds.contains(id)) {
          int[] c = out.computeIfAbsent(id, k -> new int[2]);
          c[0] += i.liveOk() && !i.replayOk() ? 1 : 0;
          c[1] += i.replayOk() ? 1 : 0;
        }
      }
    }
    List<RuleDiff> diffs = new ArrayList<>();
    in.forEach((id, c) -> diffs.add(new RuleDiff(id, true, c[0], c[1], c[2], 0, 0)));
    out.forEach((id, c) -> diffs.add(new RuleDiff(id, false, 0, 0, 0, c[0], c[1])));
    return diffs;
  }

  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("replay_id", replayId);
    m.put("rule_set", ruleSet);
    m.put("rule_set_ids", setIds);
    m.put("failed_actions_seen", failedSeen);
    m.put("passed_actions_seen", passedSeen);
    m.put("replayed", items.size());
    m.put("unanswered", unanswered());
    m.put("live_failures", items.stream().filter(i -> !i.liveOk()).count());
    m.put("replay_failures", items.stream().filter(i -> Boolean.FALSE.equals(i.replayOk()))
        .count());
    m.put("fixed", fixed());
    m.put("broke", broke());
    List<Map<String, Object>> rules = new ArrayList<>();
    for (RuleDiff d : rules()) {
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("rule_id", d.ruleId());
      r.put("in_rule_set", d.inSet());
      if (d.inSet()) {
        r.put("applied", d.applied());
        r.put("fixed", d.fixed());
        r.put("broke", d.broke());
      } else {
        r.put("fail_without_it", d.neededLive());
        r.put("pass_without_it", d.notNeeded());
      }
      rules.add(r);
    }
    m.put("rules", rules);
    List<Map<String, Object>> list = new ArrayList<>();
    for (Item i : items) {
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("task_id", i.taskId());
      r.put("action_id", i.actionId());
      r.put("live", i.liveOk() ? "passed" : "failed");
      r.put("live_rules", i.liveRules());
      r.put("replay", i.replayOk() == null ? "no verdict" : i.replayOk() ? "passed" : "failed");
      r.put("replay_rules", i.replayRules());
      r.put("replay_failure", i.replayFailure());
      list.add(r);
    }
    m.put("actions", list);
    return m;
  }

  public String toJson() {
    try {
      return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
          .writeValueAsString(toMap());
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render the replay report as JSON", e);
    }
  }

  public String toTable() {
    StringBuilder b = new StringBuilder();
    long liveFailures = items.stream().filter(i -> !i.liveOk()).count();
    long replayFailures = items.stream().filter(i -> Boolean.FALSE.equals(i.replayOk())).count();
    b.append(String.format(Locale.ROOT, "replay %s under rules %s: %d action(s) re-run (%d failed "
        + "and %d passed live; %d failed and %d passed seen in the period)%n", replayId, ruleSet,
        items.size(), liveFailures, items.size() - liveFailures, failedSeen, passedSeen));
    b.append(String.format(Locale.ROOT, "failures live %d -> replay %d; fixed %d, broke %d%s%n",
        liveFailures, replayFailures, fixed(), broke(),
        unanswered() > 0 ? ", " + unanswered() + " without a verdict in time" : ""));
    b.append(String.format(Locale.ROOT, "%n%-64s %s%n", "rule", "difference"));
    for (RuleDiff d : rules()) {
      String what = d.inSet()
          ? String.format(Locale.ROOT, "in the set: applied to %d, fixed %d, broke %d",
              d.applied(), d.fixed(), d.broke())
          : String.format(Locale.ROOT, "applied live, left out: %d fail without it, %d pass",
              d.neededLive(), d.notNeeded());
      b.append(String.format(Locale.ROOT, "%-64s %s%n", d.ruleId(), what));
    }
    if (rules().isEmpty()) {
      b.append("(no rule in the set, none applied live)\n");
    }
    return b.toString();
  }
}
