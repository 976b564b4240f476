package io.fractalrmo.infra;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The shipped deployments give the roles that run untrusted Python (executor, validator) what the
 * sandbox needs and nothing more: an unprivileged user, no capabilities, no privilege escalation,
 * the runtime's default seccomp profile (never "unconfined": Landlock and the launcher's own
 * seccomp filter need no privilege, and an unconfined profile only widens what escapes could use),
 * a read-only root and size-bounded tmpfs for /tmp and the runs' work dirs, which the role is told
 * to use. That the layers then hold as such a user, and as a root without CAP_SYS_ADMIN, is tested
 * in agent-workers ({@code ContainerLikeSandboxTest}).
 */
class SandboxDeploymentTest {

  private static final List<String> SANDBOXED = List.of("executor", "validator");

  @Test
  void imageShouldRunAsAnUnprivilegedUserWithPythonForTheSandbox() throws IOException {
    String dockerfile = Files.readString(Path.of("Dockerfile"));
    Matcher user = Pattern.compile("(?m)^USER\\s+(\\d+)(?::(\\d+))?\\s*$").matcher(dockerfile);
    assertThat(user.find()).as("a numeric USER (runAsNonRoot can verify it)").isTrue();
    assertThat(Integer.parseInt(user.group(1))).isPositive();
    int lastUser = dockerfile.lastIndexOf("\nUSER ");
    assertThat(dockerfile.indexOf("\nENTRYPOINT")).as("ENTRYPOINT after USER").isGreaterThan(lastUser);
    assertThat(dockerfile).contains("python3").contains("FRACTAL_PYTHON=/usr/bin/python3");
  }

  @Test
  void composeShouldGiveTheSandboxedRolesNoPrivilegeAndBoundedScratchSpace() throws IOException {
    Object compose;
    try (var reader = Files.newBufferedReader(Path.of("compose.yaml"))) {
      compose = new org.yaml.snakeyaml.Yaml().load(reader);
    }
    JsonNode services = TopicFilesTest.YAML.valueToTree(compose).get("services");
    for (String role : SANDBOXED) {
      JsonNode s = services.get(role);
      assertThat(s.path("user").asText()).as(role).isNotEmpty().doesNotStartWith("0").doesNotStartWith("root");
      assertThat(texts(s.path("cap_drop"))).as(role).contains("ALL");
      assertThat(s.has("cap_add")).as(role).isFalse();
      assertThat(s.path("privileged").asBoolean(false)).as(role).isFalse();
      List<String> securityOpt = texts(s.path("security_opt"));
      assertThat(securityOpt).as(role).contains("no-new-privileges:true")
          .noneMatch(o -> o.contains("unconfined"));
      assertThat(s.path("read_only").asBoolean()).as(role).isTrue();
      List<String> tmpfs = texts(s.path("tmpfs"));
      assertThat(tmpfs).as(role).anyMatch(t -> t.startsWith("/tmp:") && t.contains("size="))
          .anyMatch(t -> t.startsWith("/sandbox:") && t.contains("size="));
      assertThat(String.join(" ", texts(s.path("command")))).as(role).contains("sandbox.work-root=/sandbox")
          .doesNotContain("unsafe");
      assertThat(s.path("pids_limit").asInt()).as(role).isPositive();
    }
  }

  @Test
  void kubernetesShouldGiveTheSandboxedRolesNoPrivilegeAndBoundedScratchSpace() throws IOException {
    List<String> seen = new ArrayList<>();
    for (JsonNode doc : TopicFilesTest.documents(Path.of("k8s/fractal-roles.yaml"))) {
      if (!doc.path("kind").asText().equals("Deployment")) {
        continue;
      }
      JsonNode pod = doc.at("/spec/template/spec");
      JsonNode container = pod.at("/containers/0");
      String role = container.at("/args/1").asText();
      if (!SANDBOXED.contains(role)) {
        continue;
      }
      seen.add(role);
      assertThat(pod.at("/securityContext/runAsNonRoot").asBoolean()).as(role).isTrue();
      assertThat(pod.at("/securityContext/runAsUser").asInt()).as(role).isPositive();
      assertThat(pod.at("/securityContext/seccompProfile/type").asText()).as(role).isEqualTo("RuntimeDefault");
      JsonNode sc = container.path("securityContext");
      assertThat(sc.path("allowPrivilegeEscalation").asBoolean(true)).as(role).isFalse();
      assertThat(sc.path("privileged").asBoolean(false)).as(role).isFalse();
      assertThat(sc.path("readOnlyRootFilesystem").asBoolean()).as(role).isTrue();
      assertThat(texts(sc.at("/capabilities/drop"))).as(role).contains("ALL");
      assertThat(sc.at("/capabilities/add").isMissingNode()).as(role).isTrue();
      assertThat(sc.path("seccompProfile").path("type").asText("RuntimeDefault")).as(role)
          .isEqualTo("RuntimeDefault");
      assertThat(String.join(" ", texts(container.path("args")))).contains("sandbox.work-root=/sandbox");
      List<String> mounts = new ArrayList<>();
      container.path("volumeMounts").forEach(m -> mounts.add(m.path("mountPath").asText()));
      assertThat(mounts).as(role).contains("/tmp", "/sandbox");
      pod.path("volumes").forEach(v -> assertThat(v.at("/emptyDir/sizeLimit").asText())
          .as("%s volume %s is bounded", role, v.path("name").asText()).isNotEmpty());
    }
    assertThat(seen).containsExactlyInAnyOrderElementsOf(SANDBOXED);
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }
}
