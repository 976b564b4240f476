package io.fractalrmo.app.observe;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * The health of a process: live when every probe is live, ready when every probe is ready. The
 * JSON names each role with its reading.
 */
public final class Health {

  private static final ObjectMapper JSON = new ObjectMapper();
  private final List<RoleProbe> probes;

  public Health(List<RoleProbe> probes) {
    this.probes = List.copyOf(probes);
  }

  /** A reading of all probes. */
  public record Report(boolean live, boolean ready, String json) {
  }

  public Report read() {
    ObjectNode root = JSON.createObjectNode();
    ObjectNode roles = JSON.createObjectNode();
    boolean live = true;
    boolean ready = true;
    for (RoleProbe p : probes) {
      RoleProbe.Status s = p.read();
      live &= s.live();
      ready &= s.ready();
      roles.putObject(p.role()).put("live", s.live()).put("ready", s.ready())
          .put("detail", s.detail());
    }
    root.put("status", live && ready ? "UP" : live ? "STARTING" : "DOWN");
    root.put("live", live);
    root.put("ready", ready);
    root.set("roles", roles);
    return new Report(live, ready, root.toString());
  }
}
